// repository.h — transitional: the repository format moved to src/repo/
// (identity.h, keys.h, object.h). Nothing in archive/ is left here; these
// aliases keep callers outside the modules of that move compiling unchanged
// until they say repo:: themselves (the spool, the CLI and their tests are
// being reshaped by other branches of issue 9). New code includes repo/.
#pragma once

#include "repo/identity.h"
#include "repo/keys.h"
#include "repo/object.h"

namespace walferry::archive {

using repo::ClusterIdentity;
using repo::CreateIdentity;
using repo::CreateRepository;
using repo::CreateResult;
using repo::kIdentityKey;
using repo::kRepositoryFormat;
using repo::LoadIdentity;
using repo::ReadDataDirIdentity;
using repo::RequireIdentity;

using repo::DecodeHeader;
using repo::EncodeHeader;
using repo::kMaxHeaderSize;
using repo::ObjectHeader;
using repo::ReadHeader;

}  // namespace walferry::archive

namespace walferry {
using repo::WalObjectKey;  // was declared in walferry/wal_name.h
}  // namespace walferry
