// push.h — the archive-push side of the spool, in one include: its layout
// (push_dirs.h), records (records.h), staged copies (staged.h), the upload worker
// (worker.h), the backlog status (push_status.h) and archive-push's own side
// (fast_path.h, foreground.h).
#pragma once

#include "spool/fast_path.h"    // IWYU pragma: export
#include "spool/foreground.h"   // IWYU pragma: export
#include "spool/push_dirs.h"    // IWYU pragma: export
#include "spool/push_status.h"  // IWYU pragma: export
#include "spool/records.h"      // IWYU pragma: export
#include "spool/staged.h"       // IWYU pragma: export
#include "spool/worker.h"       // IWYU pragma: export
