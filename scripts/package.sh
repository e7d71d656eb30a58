#!/usr/bin/env bash
# Builds the desktop installers with the Tauri CLI from npm (@tauri-apps/cli, prebuilt):
# by default the Linux ones, a .deb and an AppImage, into
# $CARGO_TARGET_DIR/release/bundle/{deb,appimage}/. Pass other bundle names to choose, e.g.
# `scripts/package.sh deb` or, on their platforms, `rpm`, `msi`, `nsis`, `dmg`.
# The AppImage step downloads AppRun, linuxdeploy and linuxdeploy's AppImage plugin (which
# carries the AppImage runtime) from github.com the first time; Tauri keeps them in
# ~/.cache/tauri. On a machine that cannot reach GitHub, fetch the three files elsewhere (the
# script prints their addresses and names) and point ATELIER_APPIMAGE_TOOLS at the folder
# holding them: they are copied into Tauri's cache first. Without them the AppImage fails after
# the .deb is built, and the script says so.
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
arch="$(uname -m)"
tauri_cache="${XDG_CACHE_HOME:-$HOME/.cache}/tauri"
# The names and addresses @tauri-apps/cli 2.12.3 (pinned in ui/package.json) uses: a newer CLI
# may pin another linuxdeploy build (its "Downloading" line says which).
appimage_tools=(
  "AppRun-$arch https://github.com/tauri-apps/binary-releases/releases/download/apprun-old/AppRun-$arch"
  "linuxdeploy-07333c6-$arch.AppImage https://github.com/tauri-apps/binary-releases/releases/download/linuxdeploy-07333c6/linuxdeploy-$arch.AppImage"
  "linuxdeploy-plugin-appimage.AppImage https://github.com/linuxdeploy/linuxdeploy-plugin-appimage/releases/download/continuous/linuxdeploy-plugin-appimage-$arch.AppImage"
)
if [ -n "${ATELIER_APPIMAGE_TOOLS:-}" ]; then
  mkdir -p "$tauri_cache"
  for tool in "${appimage_tools[@]}"; do
    name="${tool%% *}"
    if [ ! -f "$ATELIER_APPIMAGE_TOOLS/$name" ]; then
      echo "package: $ATELIER_APPIMAGE_TOOLS/$name is missing (from ${tool#* })" >&2
      exit 2
    fi
    install -m 0755 "$ATELIER_APPIMAGE_TOOLS/$name" "$tauri_cache/$name"
  done
  echo "package: AppImage tools copied from $ATELIER_APPIMAGE_TOOLS into $tauri_cache" >&2
fi
# The app embeds ui/dist: build it first (the Tauri config has no beforeBuildCommand).
(cd ui && npm ci --no-audit --no-fund && npm run build)
tauri=ui/node_modules/.bin/tauri

status=0
for bundle in "${bundles[@]}"; do
  echo "package: building the $bundle bundle" >&2
  if ! "$tauri" build --ci --bundles "$bundle"; then
    if [ "$bundle" = appimage ]; then
      echo "package: the AppImage failed. If the error above is a failed download: Tauri fetches these" >&2
      echo "package: from GitHub the first time and keeps them in $tauri_cache:" >&2
      for tool in "${appimage_tools[@]}"; do echo "package:   ${tool#* }  saved as  ${tool%% *}" >&2; done
      echo "package: fetch them on a machine that reaches GitHub, save them under those names, then run" >&2
      echo "package: again with ATELIER_APPIMAGE_TOOLS=<the folder holding them>. The other bundles are unaffected." >&2
    else
      echo "package: the $bundle bundle failed (see above)" >&2
    fi
    status=1
  fi
done
ls -l "$CARGO_TARGET_DIR"/release/bundle/*/ 2>/dev/null || true
exit "$status"
