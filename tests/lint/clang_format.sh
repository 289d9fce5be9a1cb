#!/usr/bin/env bash
# clang_format.sh [ROOT] — fails when a C++ file of the project is not formatted as
# .clang-format says (Debian's clang-format 14). Fix with:
#   git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
ROOT=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
command -v clang-format >/dev/null || { echo "clang_format: clang-format is not installed (scripts/install-deps.sh installs it)"; exit 1; }
mapfile -t files < <(find src include tests bench -type f \( -name '*.cc' -o -name '*.h' \) \
  -not -path 'tests/fuzz/corpus/*' -not -path 'tests/fuzz/known/*' | sort)
out=$(clang-format --dry-run "${files[@]}" 2>&1 || true)
if [ -n "$out" ]; then
  echo "$out" | grep -E 'warning:' | sed -E 's/: warning: .*//' | sort | uniq -c | sed 's/^/  /'
  echo "clang_format: the files above are not formatted; fix with:"
  echo "  git ls-files '*.cc' '*.h' | xargs clang-format -i"
  exit 1
fi
echo "clang_format: ${#files[@]} files formatted as .clang-format says"
