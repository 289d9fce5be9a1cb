#!/usr/bin/env bash
# include_directions.sh [ROOT] — fails when a source file includes a header of a module it
# may not depend on. The allowed directions (a module may include its own headers and
# those of the modules listed after it):
#
#   common   -> (nothing)          errors, logging, pipeline, byte streams, fs, crypto, lazy libs
#   config   -> common storage     the option table and config resolution (options.h,
#                                  src/common/options.cc: it fills the storage config)
#   pg       -> common             facts about PostgreSQL (names, segment arithmetic, pg_control)
#   storage  -> common             the Storage seam and its backends (file://, s3://)
#   repo     -> common pg storage  the repository format: identity file, keys, stored objects
#   archive  -> common pg storage repo
#   backup   -> common pg storage repo   (backups never depend on the archive commands)
#   spool    -> common pg storage repo archive
#   check    -> common config pg storage repo archive backup   (walferry check: it runs the
#                                  archive round trip and reads PostgreSQL's settings)
#   cli      -> everything         binds flags, builds configs, calls one function, prints
#
# The public seam headers in include/walferry/ belong to a module each (below); the rule
# applies to them too, so `storage/` can never include the archive's wal_name.h, say.
# Prints every offending line as FILE:LINE: MODULE may not include HEADER (MODULE2).
set -euo pipefail
ROOT=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"

declare -A ALLOWED=(
  [common]="common"
  [config]="common storage config"
  [pg]="common pg"
  [storage]="common storage"
  [repo]="common pg storage repo"
  [archive]="common pg storage repo archive"
  [backup]="common pg storage repo backup"
  [spool]="common pg storage repo archive spool"
  [check]="common config pg storage repo archive backup check"
  [cli]="*"
)
# include/walferry/NAME.h -> the module that owns it
declare -A SEAM=(
  [status.h]=common [exit_codes.h]=common [bytes.h]=common [pipeline.h]=common
  [local_fs.h]=common
  [options.h]=config [storage.h]=storage [wal_name.h]=pg
)

module_of_header() {  # path as written in #include "..."
  local inc=$1
  case $inc in
    walferry/*)
      local base=${inc#walferry/}
      echo "${SEAM[$base]:-unknown-seam}" ;;
    */*) echo "${inc%%/*}" ;;
    *) echo "." ;;  # same directory
  esac
}

bad=0 checked=0
while IFS= read -r file; do
  case $file in
    include/walferry/*) mod=${SEAM[${file#include/walferry/}]:-unknown-seam} ;;
    src/*/*) mod=${file#src/}; mod=${mod%%/*} ;;
    *) continue ;;
  esac
  [ "$file" = src/common/options.cc ] && mod=config
  allowed=${ALLOWED[$mod]:-}
  if [ -z "$allowed" ]; then
    echo "$file: module '$mod' is not in the table of include_directions.sh; add it"
    bad=$((bad + 1))
    continue
  fi
  [ "$allowed" = "*" ] && continue
  checked=$((checked + 1))
  while IFS=: read -r line inc; do
    dep=$(module_of_header "$inc")
    [ "$dep" = . ] && continue
    if [ "$dep" = unknown-seam ]; then
      echo "$file:$line: includes $inc, a seam header missing from the SEAM table"
      bad=$((bad + 1))
      continue
    fi
    case " $allowed " in
      *" $dep "*) ;;
      *) echo "$file:$line: $mod may not include $inc ($dep)"; bad=$((bad + 1)) ;;
    esac
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
           sed -E 's/^([0-9]+):[^"]*"([^"]+)".*/\1:\2/')
done < <(find src include -type f \( -name '*.h' -o -name '*.cc' \) | sort)

if [ "$bad" -ne 0 ]; then
  echo "include_directions: $bad include(s) break the module directions (see the table at the top of $0)"
  exit 1
fi
echo "include_directions: $checked files checked, all includes follow the module directions"
