#!/usr/bin/env bash
# run.sh — walferry installed the Debian way: builds the package from this source tree
# (dpkg-buildpackage -us -uc -b, tests and benchmarks off), checks it with lintian (no error
# allowed; warnings are printed, and explained or overridden in debian/), installs it with
# dpkg -i, runs the installed files (walferry --version, man -w, the bash completion, the
# examples, walferry check on a file:// repository), then removes the package: the machine is
# as before. Exit 0 only if every step held. Run as root (dpkg -i); never skips.
#
#   tests/package/run.sh            # ctest runs it as package.deb (tests/CMakeLists.txt)
#
# The build happens in a copy of the tree under $WALFERRY_PACKAGE_DIR (default
# /tmp/walferry-package, the same path every time so that ccache, when installed, hits on
# the next run), serialised by a lock on that directory. DEB_BUILD_OPTIONS defaults to
# "nocheck parallel=2" (WALFERRY_PACKAGE_PARALLEL sets the 2).
set -Eeuo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${WALFERRY_PACKAGE_DIR:-/tmp/walferry-package}
T0=$SECONDS
log() { printf 'package.deb [%3ds] %s\n' $((SECONDS - T0)) "$*"; }
fail() { log "FAIL - $*"; exit 1; }
ok() { log "ok - $*"; }

[ "$(id -u)" -eq 0 ] || fail "run as root: the test installs the package with dpkg -i"
for tool in dpkg-buildpackage dh lintian man dpkg-parsechangelog; do
  command -v "$tool" >/dev/null || fail "$tool missing: scripts/install-deps.sh installs dpkg-dev, debhelper, lintian, man-db"
done
[ -r /usr/share/bash-completion/bash_completion ] || fail "bash-completion missing: scripts/install-deps.sh installs it"
VERSION=$(cd "$SRC" && dpkg-parsechangelog -S Version)
ARCH=$(dpkg --print-architecture)
if dpkg-query -W -f='${Status}' walferry 2>/dev/null | grep -q 'install ok installed'; then
  fail "a walferry package is installed already ($(dpkg-query -W -f='${Version}' walferry)); this test would replace and remove it"
fi

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock -w 1200 9 || fail "another package build holds $DIR/.lock"
INSTALLED=0
WORK=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ "$INSTALLED" = 1 ]; then
    dpkg -P walferry >/dev/null 2>&1 && log "package removed (dpkg -P walferry)" || log "WARNING: dpkg -P walferry failed"
  fi
  [ -z "$WORK" ] || rm -rf "$WORK"
  rm -rf "$DIR/walferry-$VERSION" "$DIR"/walferry_"$VERSION"_* "$DIR"/walferry-dbgsym_"$VERSION"_*
  if [ "$rc" -eq 0 ]; then log "PASSED in $((SECONDS - T0)) s"; else log "FAILED (exit $rc) after $((SECONDS - T0)) s"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. A clean copy of the tree (no build directories, no .git), then the package.
TREE=$DIR/walferry-$VERSION
rm -rf "$TREE" && mkdir -p "$TREE"
tar -C "$SRC" --exclude=./.git --exclude='./build*' --exclude='./obj-*' --exclude=./debian/.debhelper \
  --exclude=./debian/walferry --exclude='./debian/*.log' --exclude='./debian/*.substvars' \
  --exclude=./debian/files --exclude=./debian/debhelper-build-stamp -cf - . | tar -C "$TREE" -xf -
ccache_path=""
[ -d /usr/lib/ccache ] && ccache_path=/usr/lib/ccache:
log "dpkg-buildpackage -us -uc -b in $TREE${ccache_path:+ (through ccache)}"
(cd "$TREE" && PATH="$ccache_path$PATH" DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-"nocheck parallel=${WALFERRY_PACKAGE_PARALLEL:-2}"} \
  dpkg-buildpackage -us -uc -b) >"$DIR/build.log" 2>&1 || { tail -n 40 "$DIR/build.log"; fail "dpkg-buildpackage failed (log: $DIR/build.log)"; }
DEB=$DIR/walferry_${VERSION}_$ARCH.deb
[ -f "$DEB" ] || fail "no $DEB after the build"
ok "built $(basename "$DEB") ($(stat -c %s "$DEB") bytes)"

# 2. lintian: no error; warnings shown (each explained in debian/README.source or overridden).
lint=0
lintian --fail-on error --info "$DIR/walferry_${VERSION}_$ARCH.changes" >"$DIR/lintian.log" 2>&1 || lint=$?
cat "$DIR/lintian.log"
[ "$lint" -eq 0 ] || fail "lintian reported errors (exit $lint)"
ok "lintian: no error ($(grep -c '^W: ' "$DIR/lintian.log" || true) warnings)"

# 3. What the package holds, installed.
contents=$(dpkg-deb -c "$DEB")
for f in ./usr/bin/walferry ./usr/share/man/man1/walferry.1.gz ./usr/share/man/man1/walferry-check.1.gz \
  ./usr/share/man/man5/walferry.conf.5.gz ./usr/share/man/man5/walferry-repository.5.gz \
  ./usr/share/doc/walferry/examples/postgresql.conf ./usr/share/doc/walferry/examples/walferry.conf \
  ./usr/share/doc/walferry/copyright ./usr/share/bash-completion/completions/walferry; do
  grep -q " $f\$" <<<"$contents" || fail "the package has no $f"
done
ok "the package holds the binary, man pages (1, 5), examples, copyright and bash completion"
dpkg -i "$DEB" >"$DIR/dpkg.log" 2>&1 || { cat "$DIR/dpkg.log"; fail "dpkg -i failed"; }
INSTALLED=1
ok "installed with dpkg -i"

# 4. The installed files, from a clean environment (no build tree on PATH).
run() { env -i PATH=/usr/bin:/bin HOME=/root LC_ALL=C "$@"; }
v=$(run walferry --version)
[ "$v" = "walferry ${VERSION%%-*}" ] || fail "walferry --version printed '$v', expected 'walferry ${VERSION%%-*}'"
[ "$(command -v walferry)" = /usr/bin/walferry ] || [ "$(run sh -c 'command -v walferry')" = /usr/bin/walferry ] ||
  fail "walferry is not /usr/bin/walferry"
ok "walferry --version: $v"
m=$(run man -w walferry) || fail "man -w walferry failed"
[ "$m" = /usr/share/man/man1/walferry.1.gz ] || fail "man -w walferry: '$m'"
[ "$(run man -w 5 walferry.conf)" = /usr/share/man/man5/walferry.conf.5.gz ] || fail "man -w 5 walferry.conf"
[ "$(run man -w walferry-check)" = /usr/share/man/man1/walferry-check.1.gz ] || fail "man -w walferry-check"
run man -P cat walferry-check 2>/dev/null | grep -q 'pg_switch_wal' || fail "man walferry-check does not render"
ok "man -w walferry: $m (and walferry.conf(5), walferry-check(1))"
comp=$(run bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader walferry 2>/dev/null
  COMP_WORDS=(walferry che); COMP_CWORD=1; _walferry; echo "${COMPREPLY[*]}"')
[ "$comp" = check ] || fail "bash completion from the package: 'walferry che' completed to '$comp'"
ok "bash-completion loads the completion on demand ('walferry che' -> check)"
WORK=$(mktemp -d /tmp/wfpkg-check.XXXXXX)
out=$(run walferry --config '' check --repo "file://$WORK/repo" --no-pg 2>&1) ||
  fail "walferry check --repo file://$WORK/repo failed: $out"
grep -q '^check ok$' <<<"$out" || fail "walferry check printed no 'check ok': $out"
ok "walferry check --repo file://$WORK/repo: check ok"
run walferry --config '' check --repo "file://$WORK/repo" --no-pg --json | grep -q '"ok":true' ||
  fail "walferry check --json"
