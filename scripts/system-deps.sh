#!/usr/bin/env bash
# Installs the Debian/Ubuntu libraries Qt needs, only when one is missing.
#   test: what Qt's offscreen platform loads (EGL, fontconfig, xkbcommon, GLib, D-Bus) + a font
#   run:  the same plus the X11/xcb libraries of the desktop platform plugin
set -euo pipefail
mode="${1:-test}"
libs=(libEGL.so.1 libGL.so.1 libfontconfig.so.1 libxkbcommon.so.0 libglib-2.0.so.0 libdbus-1.so.3)
pkgs=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libglib2.0-0 libdbus-1-3 fonts-dejavu-core)
if [ "$mode" = run ]; then
  libs+=(libxkbcommon-x11.so.0 libxcb-cursor.so.0 libxcb-icccm.so.4 libxcb-keysyms.so.1 libxcb-shape.so.0 libxcb-randr.so.0 libxcb-render-util.so.0 libxcb-image.so.0)
  pkgs+=(libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0)
fi
missing=0
# read the lists once: `ldconfig -p | grep -q` fails under pipefail when grep exits early
have_libs="$(ldconfig -p 2>/dev/null || true)"
for l in "${libs[@]}"; do
  grep -qF "$l" <<<"$have_libs" || { echo "system-deps: $l missing"; missing=1; }
done
[ -n "$(fc-list 2>/dev/null || true)" ] || { echo "system-deps: no fonts"; missing=1; }
[ "$missing" = 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "system-deps: please install the Qt runtime libraries for your system: ${pkgs[*]}" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "system-deps: installing ${pkgs[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${pkgs[@]}" >/dev/null
