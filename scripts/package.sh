#!/usr/bin/env bash
# Builds the desktop installers with the Tauri CLI from npm (@tauri-apps/cli, prebuilt):
# by default the Linux ones, a .deb and an AppImage, into
# $CARGO_TARGET_DIR/release/bundle/{deb,appimage}/. Pass other bundle names to choose, e.g.
# `scripts/package.sh deb` or, on their platforms, `rpm`, `msi`, `nsis`, `dmg`.
# The AppImage step downloads linuxdeploy and the AppImage runtime from github.com the first
# time (Tauri caches them in ~/.cache/tauri); on a machine that cannot reach GitHub it fails
# after the .deb is built, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/atelier-target}"

# Installers ship a stripped binary (36 MB instead of ~200 MB with the line tables that
# development builds keep for backtraces).
export CARGO_PROFILE_RELEASE_STRIP="${CARGO_PROFILE_RELEASE_STRIP:-debuginfo}"

bundles=("$@")
if [ ${#bundles[@]} -eq 0 ]; then bundles=(deb appimage); fi
# The app embeds ui/dist: build it first (the Tauri config has no beforeBuildCommand).
(cd ui && npm ci --no-audit --no-fund && npm run build)
tauri=ui/node_modules/.bin/tauri
status=0
for bundle in "${bundles[@]}"; do
  echo "package: building the $bundle bundle" >&2
  if ! "$tauri" build --ci --bundles "$bundle"; then
    if [ "$bundle" = appimage ]; then
      echo "package: the AppImage failed: Tauri downloads AppRun, linuxdeploy and the AppImage runtime" >&2
      echo "package: from github.com the first time (then keeps them in ~/.cache/tauri); this machine" >&2
      echo "package: could not reach it. The other bundles are unaffected." >&2
    else
      echo "package: the $bundle bundle failed (see above)" >&2
    fi
    status=1
  fi
done
ls -l "$CARGO_TARGET_DIR"/release/bundle/*/ 2>/dev/null || true
exit "$status"
