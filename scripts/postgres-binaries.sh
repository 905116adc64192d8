#!/usr/bin/env bash
# Makes sure PostgreSQL's server binaries (initdb, pg_ctl, postgres) are installed, from Debian's packages, for the
# store tests that run against a real server (test/support/postgres-server.ts starts and stops it). Quiet and
# instant when they are present; installing needs root and Debian's package archive.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
  echo "[postgres] PostgreSQL is not installed and cannot be installed here (needs root and apt-get); its store tests will be skipped" >&2
  exit 0
fi
echo "[postgres] installing PostgreSQL from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o Acquire::Check-Valid-Until=false -o Acquire::Retries=3 update -qq >&2
apt-get -o Acquire::Retries=3 install -y -qq --no-install-recommends postgresql >&2
