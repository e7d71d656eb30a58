#!/usr/bin/env bash
# Installs what building and testing Atelier needs on a Debian/Ubuntu machine, skipping what is
# already there: system packages (as root, or through sudo: the C toolchain, Node.js and npm for
# the web UI, Chromium for its browser tests, WebKitGTK and its development files for the
# desktop app, Xvfb, WebKitWebDriver and xdotool, which answers native dialogs, for its tests;
# bubblewrap, the sandbox for commands agents run; ripgrep, the yardstick of the find-in-files
# benchmark) and the Rust toolchain.
set -euo pipefail

APT_PACKAGES=(build-essential pkg-config git curl ca-certificates unzip libssl-dev chromium python3 ripgrep
  file libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev xvfb xauth webkit2gtk-driver xdotool python3-xlib bubblewrap)
# Node.js and npm: Debian's packages unless a Node.js 18 or newer is already installed.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then APT_PACKAGES+=(nodejs npm); fi

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to run: $*" >&2; return 1; fi
}

if command -v dpkg-query >/dev/null; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}"
  fi
else
  echo "setup: not a Debian/Ubuntu system; install a C compiler, pkg-config and git yourself" >&2
fi

if ! command -v cargo >/dev/null; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing the Rust toolchain with rustup" >&2
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
if command -v rustup >/dev/null; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
fi

# The real MCP servers from npm that atelier-mcp's and atelier-core's tests and the `mcp`
# benchmark talk to (server-everything, server-filesystem), pinned by tests/mcp-peers'
# package-lock.json; installed again when the lock changes.
peers="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/mcp-peers"
if [ -f "$peers/package-lock.json" ] && ! cmp -s "$peers/package-lock.json" "$peers/node_modules/.atelier-lock" 2>/dev/null; then
  echo "setup: installing the MCP test servers (npm ci in tests/mcp-peers)" >&2
  (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.atelier-lock)
fi
