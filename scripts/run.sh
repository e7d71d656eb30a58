#!/usr/bin/env bash
# Builds Atelier (installing what is missing first) and runs it. With a display (X11 or
# Wayland on Linux; always on macOS and Windows) it starts the desktop app. Without one (an SSH
# session, a server) it says so and starts `atelier serve` on 127.0.0.1:7777 instead, printing
# the address to open in a browser. Extra arguments go to `atelier serve`, e.g.
# `scripts/run.sh --bind 127.0.0.1:0`; `scripts/run.sh --serve` always starts the server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/atelier-target}"

serve=false
if [ "${1:-}" = "--serve" ]; then serve=true; shift; fi
if [ "$(uname -s)" = Linux ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  if [ "$serve" = false ]; then
    echo "run: no display (DISPLAY and WAYLAND_DISPLAY are unset), so the desktop app cannot open a" >&2
    echo "run: window; starting the server instead: open the address it prints in a browser." >&2
  fi
  serve=true
fi

# Release binaries embed the web UI: build it first.
(cd ui && npm ci --no-audit --no-fund && npm run build)
if [ "$serve" = true ]; then
  cargo build --release --locked -p atelier-cli
  exec "$CARGO_TARGET_DIR/release/atelier" serve "$@"
fi
cargo build --release --locked -p atelier-desktop
echo "run: starting the desktop app ($CARGO_TARGET_DIR/release/atelier-desktop)" >&2
exec "$CARGO_TARGET_DIR/release/atelier-desktop"
