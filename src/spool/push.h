// push.h — the archive-push side of the spool, in one include: its layout
// (push_dirs.h), records (records.h), staged copies (staged.h), the upload worker
// (worker.h) and the backlog status (push_status.h).
#pragma once

#include "spool/push_dirs.h"    // IWYU pragma: export
#include "spool/push_status.h"  // IWYU pragma: export
#include "spool/records.h"      // IWYU pragma: export
#include "spool/staged.h"       // IWYU pragma: export
#include "spool/worker.h"       // IWYU pragma: export
