#!/usr/bin/env bash
# Builds Atelier (installing what is missing first) and runs it: `atelier serve` on
# 127.0.0.1:7777 with the data in the platform's data folder. Extra arguments go to
# `atelier serve`, e.g. `scripts/run.sh --bind 127.0.0.1:0`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/atelier-target}"
# The release binary embeds the web UI: build it first.
(cd ui && npm ci --no-audit --no-fund && npm run build)
cargo build --release --locked -p atelier-cli
exec "$CARGO_TARGET_DIR/release/atelier" serve "$@"
