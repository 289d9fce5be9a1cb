#!/usr/bin/env bash
# install-deps.sh — every Debian 12 package walferry needs to build, test and run its demo.
# Idempotent; run as root (or through sudo). Nothing else is downloaded.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
BUILD="build-essential cmake pkg-config libcurl4-openssl-dev libssl-dev libzstd-dev liblz4-dev
  libcli11-dev nlohmann-json3-dev libpq-dev libpugixml-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang-format clang-tidy"  # tests/lint/clang_format.sh, tests/lint/clang_tidy.sh
S3SERVER="ceph-mon ceph-osd radosgw ceph-common uuid-runtime stunnel4 openssl curl"
AWSCLI="awscli"  # tests/e2e/sts_e2e_test.cc: the reference for which credentials a profile selects
PG="postgresql-15 postgresql-client-15 jq"  # jq: the spool scenarios read `walferry status --json`
FUZZ="clang libfuzzer-14-dev"  # tests/fuzz: libFuzzer targets under ASan+UBSan (clang only)
BENCH="pgbackrest time zstd"  # bench/archive/run.sh compares with pgBackRest; /usr/bin/time for RSS
# tests/package/run.sh: builds the Debian package (debian/), checks it, installs it, reads its man pages
PACKAGE="dpkg-dev debhelper lintian man-db bash-completion"
missing=""
for p in $BUILD $S3SERVER $AWSCLI $PG $FUZZ $BENCH $PACKAGE; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-deps: installing:$missing"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "install-deps: all packages present"
