#!/usr/bin/env bash
# clang_tidy.sh BUILD_DIR [ROOT] — runs the clang-tidy checks chosen in .clang-tidy over every
# source file of src/ (Debian's clang-tidy 14), with the compile commands of BUILD_DIR
# (CMAKE_EXPORT_COMPILE_COMMANDS is on in the project's CMakeLists.txt). Fails on any finding
# and prints it as FILE:LINE:COL: warning: ... [check]. Two files at a time (two cores).
set -euo pipefail
BUILD=${1:?usage: clang_tidy.sh BUILD_DIR [ROOT]}
ROOT=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
TIDY=$(command -v clang-tidy || command -v clang-tidy-14 || true)
[ -n "$TIDY" ] || { echo "clang_tidy: clang-tidy is not installed (scripts/install-deps.sh installs it)"; exit 1; }
[ -f "$BUILD/compile_commands.json" ] || { echo "clang_tidy: no $BUILD/compile_commands.json (configure with cmake first)"; exit 1; }
mapfile -t files < <(find src -type f -name '*.cc' | sort)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%s\n' "${files[@]}" |
  xargs -P "${WALFERRY_TIDY_JOBS:-2}" -I{} sh -c '"$1" -p "$2" --quiet --extra-arg=-Wno-unknown-warning-option "$3" >"$4/$(echo "$3" | tr / _).log" 2>&1 || echo "$3" >>"$4/failed"' _ "$TIDY" "$BUILD" {} "$out"
if [ -s "$out/failed" ]; then
  cat "$out"/*.log | grep -E 'warning:|error:' | sort -u
  echo "clang_tidy: findings in $(sort -u "$out/failed" | wc -l) of ${#files[@]} files (checks: .clang-tidy)"
  exit 1
fi
echo "clang_tidy: ${#files[@]} files of src/ clean for the checks in .clang-tidy"
