#!/usr/bin/env bash
# Provisions a Debian sid root with matrix-synapse for the real-Synapse test harness (test/harness/).
# Debian stable has no matrix-synapse package, so we debootstrap sid and run Synapse from it with chroot.
#
# Usage: scripts/synapse-root.sh          prints the root's path on stdout (building it first if needed)
#        scripts/synapse-root.sh --check  exits 0 when an up-to-date root exists, 1 otherwise (no build)
# Env:   MDB_CACHE_DIR    cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/matrix-dma-bridge)
#        MDB_DEBIAN_MIRROR  Debian mirror (default http://deb.debian.org/debian)
# Needs root (debootstrap and chroot). Progress goes to stderr.
set -euo pipefail

# Bump when the recipe below changes: an existing root with another version is rebuilt.
RECIPE_VERSION=1

CACHE_DIR="${MDB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/matrix-dma-bridge}"
ROOT="$CACHE_DIR/synapse-root"
STAMP_NAME=".mdb-synapse-root"
MIRROR="${MDB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The archive snapshot reachable from CI can be older than its Valid-Until date.
APT_OPTS=(-o Acquire::Check-Valid-Until=false -o Acquire::Retries=3)

log() { echo "[synapse-root] $*" >&2; }
die() { log "error: $*"; exit 1; }

root_is_current() {
  [[ -f "$ROOT/$STAMP_NAME" ]] && grep -qx "recipe=$RECIPE_VERSION" "$ROOT/$STAMP_NAME" \
    && [[ -x "$ROOT/usr/bin/python3" ]]
}

# Unmounts everything below $1 (deepest first). debootstrap mounts /proc and /sys inside the target and
# only unmounts them when it exits normally; a killed build must not leave them behind, and rm -rf must
# never descend into a mounted /proc or /sys.
unmount_below() {
  local dir
  dir="$(realpath -m "$1")"
  local mounts
  mounts="$(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)"
  local m
  for m in $mounts; do
    log "unmounting leftover mount $m"
    umount "$m" 2>/dev/null || umount -l "$m" || die "could not unmount $m"
  done
}

remove_tree() {
  [[ -e "$1" ]] || return 0
  unmount_below "$1"
  rm -rf --one-file-system "$1"
}

if [[ "${1:-}" == "--check" ]]; then
  root_is_current && exit 0 || exit 1
fi
[[ $# -eq 0 ]] || die "unknown argument: $1 (usage: $0 [--check])"

if root_is_current; then
  echo "$ROOT"
  exit 0
fi

[[ "$(id -u)" -eq 0 ]] || die "building the Synapse root needs root (debootstrap, chroot). Run as root, or point the
tests at a Synapse of your own with MDB_TEST_SYNAPSE_URL, MDB_TEST_SYNAPSE_SHARED_SECRET and MDB_TEST_SYNAPSE_REGISTRATION."

mkdir -p "$CACHE_DIR"
# One builder at a time; parallel test processes wait here and then find the finished root.
exec 9>"$CACHE_DIR/synapse-root.lock"
if ! flock -n 9; then
  log "another process is building the Synapse root; waiting for it"
  flock 9
fi
if root_is_current; then
  echo "$ROOT"
  exit 0
fi

# Builds left by a killed run (SIGKILL skips our trap); we hold the lock, so none of them is live.
for stale in "$CACHE_DIR"/synapse-root.build.* "$CACHE_DIR"/synapse-root.old.*; do
  [[ -e "$stale" ]] || continue
  log "removing stale $stale"
  remove_tree "$stale"
done

BUILD="$CACHE_DIR/synapse-root.build.$$"
cleanup() { remove_tree "$BUILD"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap on the host"
  apt-get "${APT_OPTS[@]}" update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -q debootstrap >&2
fi

t0=$SECONDS
log "debootstrap sid into $BUILD (takes about a minute)"
if ! debootstrap --variant=minbase --include=ca-certificates sid "$BUILD" "$MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1; then
  tail -n 30 "$CACHE_DIR/debootstrap.log" >&2
  [[ -f "$BUILD/debootstrap/debootstrap.log" ]] && tail -n 30 "$BUILD/debootstrap/debootstrap.log" >&2
  die "debootstrap failed (full log: $CACHE_DIR/debootstrap.log)"
fi
t_debootstrap=$((SECONDS - t0))
log "debootstrap done in ${t_debootstrap}s"

# Package scripts must not try to start services inside the root.
printf '#!/bin/sh\nexit 101\n' >"$BUILD/usr/sbin/policy-rc.d"
chmod +x "$BUILD/usr/sbin/policy-rc.d"

t1=$SECONDS
log "installing matrix-synapse in the root"
INSTALL_LOG="$CACHE_DIR/synapse-install.log"
if ! { chroot "$BUILD" apt-get "${APT_OPTS[@]}" update -q \
    && chroot "$BUILD" env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" \
      install -y -q --no-install-recommends matrix-synapse \
    && chroot "$BUILD" apt-get clean; } >"$INSTALL_LOG" 2>&1; then
  tail -n 30 "$INSTALL_LOG" >&2
  die "installing matrix-synapse failed (full log: $INSTALL_LOG)"
fi
rm -rf "$BUILD"/var/lib/apt/lists/* "$BUILD"/usr/share/doc/* "$BUILD"/usr/share/man/*
t_install=$((SECONDS - t1))

synapse_version="$(chroot "$BUILD" python3 -c 'import synapse; print(synapse.__version__)')" \
  || die "matrix-synapse was installed but does not import"
log "matrix-synapse $synapse_version installed in ${t_install}s"

unmount_below "$BUILD"
{
  echo "recipe=$RECIPE_VERSION"
  echo "synapse=$synapse_version"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "debootstrap_seconds=$t_debootstrap"
  echo "install_seconds=$t_install"
} >"$BUILD/$STAMP_NAME"

# Swap in the finished root: the old one moves aside first so $ROOT is never a half-built tree.
if [[ -e "$ROOT" ]]; then
  OLD="$CACHE_DIR/synapse-root.old.$$"
  mv "$ROOT" "$OLD"
  mv "$BUILD" "$ROOT"
  remove_tree "$OLD"
else
  mv "$BUILD" "$ROOT"
fi
trap - EXIT
log "root ready at $ROOT ($(du -sh --one-file-system "$ROOT" | cut -f1))"
echo "$ROOT"
