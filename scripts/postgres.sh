#!/usr/bin/env bash
# Provisions the PostgreSQL server binaries for the test harness (test/harness/postgres.ts), from Debian's packages.
#
# Usage: scripts/postgres.sh          prints the directory holding initdb and postgres (installing them first if needed)
#        scripts/postgres.sh --check  exits 0 when they are present, 1 otherwise (installs nothing)
# Env:   MDB_POSTGRES_BIN   use this directory instead of looking under /usr/lib/postgresql
# Installing needs root (apt-get). Progress goes to stderr; when the binaries are present it prints nothing else.
set -euo pipefail

# The archive snapshot reachable from CI can be older than its Valid-Until date.
APT_OPTS=(-o Acquire::Check-Valid-Until=false -o Acquire::Retries=3)

log() { echo "[postgres] $*" >&2; }
die() { log "error: $*"; exit 1; }

# Debian installs each major version side by side under /usr/lib/postgresql/<major>/bin and puts only wrappers on
# PATH; the newest major present wins.
find_bin_dir() {
  if [[ -n "${MDB_POSTGRES_BIN:-}" ]]; then
    [[ -x "$MDB_POSTGRES_BIN/initdb" && -x "$MDB_POSTGRES_BIN/postgres" ]] && echo "$MDB_POSTGRES_BIN"
    return 0
  fi
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5nr); do
    if [[ -x "$dir/initdb" && -x "$dir/postgres" ]]; then
      echo "$dir"
      return 0
    fi
  done
}

if [[ "${1:-}" == "--check" ]]; then
  [[ -n "$(find_bin_dir)" ]] && exit 0 || exit 1
fi
[[ $# -eq 0 ]] || die "unknown argument: $1 (usage: $0 [--check])"

bin="$(find_bin_dir)"
if [[ -n "$bin" ]]; then
  echo "$bin"
  exit 0
fi
[[ -z "${MDB_POSTGRES_BIN:-}" ]] || die "MDB_POSTGRES_BIN=$MDB_POSTGRES_BIN holds no initdb and postgres"

[[ "$(id -u)" -eq 0 ]] || die "PostgreSQL is not installed and installing it needs root: run 'apt-get install postgresql'
as root, set MDB_POSTGRES_BIN to a directory holding initdb and postgres, or point the tests at a server of your own
with MDB_TEST_POSTGRES_URL (see test/harness/README.md)."
command -v apt-get >/dev/null || die "PostgreSQL is not installed and there is no apt-get to install it with"

# One installer at a time: parallel test processes wait here and then find the binaries.
lock_dir="${MDB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/matrix-dma-bridge}"
mkdir -p "$lock_dir"
exec 9>"$lock_dir/postgres-install.lock"
flock 9
bin="$(find_bin_dir)"
if [[ -z "$bin" ]]; then
  log "installing PostgreSQL from Debian's packages (once; later runs find it)"
  # The tests start their own throwaway clusters: the packaged service must neither start nor get a "main" cluster.
  # policy-rc.d stops invoke-rc.d from starting it; a policy of our own is removed again, an existing one is kept.
  own_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  trap '[[ -z "$own_policy" ]] || rm -f /usr/sbin/policy-rc.d' EXIT
  if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
    mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get "${APT_OPTS[@]}" update -qq >&2 || die "apt-get update failed"
  apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confold postgresql >&2 || die "apt-get install postgresql failed"
  bin="$(find_bin_dir)"
  [[ -n "$bin" ]] || die "postgresql is installed but no /usr/lib/postgresql/*/bin holds initdb and postgres"
  log "installed $("$bin/postgres" --version)"
fi
echo "$bin"
