#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy with warnings as errors, and all tests.
# Installs what is missing first (see scripts/setup.sh). The build folder lives outside the
# clone ($CARGO_TARGET_DIR, default ~/.cache/atelier-target) so repeated runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/atelier-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

# The web UI first: release builds embed ui/dist, and debug servers serve it from disk.
step "ui: npm ci, typecheck, lint, unit tests, build"
(cd ui && npm ci --no-audit --no-fund && npm run typecheck && npm run lint && npm test && npm run build)

step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run (cargo's own last line is the last crate's doc-tests).
awk '/^test result:/ { p += $4; f += $6 } END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
if [ "$status" != 0 ]; then exit "$status"; fi

step "ui: browser end-to-end (atelier serve + testkit + Chromium)"
cargo build --locked -p atelier-cli -p atelier-testkit -p atelier-desktop
(cd ui && npm run e2e)

step "desktop end-to-end (atelier-desktop under Xvfb + WebKitWebDriver + testkit)"
(cd ui && xvfb-run -a -s "-screen 0 1400x900x24" npm run e2e:desktop)
