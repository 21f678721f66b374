#!/usr/bin/env bash
# Installs the Debian/Ubuntu libraries Qt needs, only when one is missing.
#   test: what Qt's offscreen platform loads (EGL, fontconfig, xkbcommon, GLib, D-Bus) + a font
#   run:  the same plus the X11/xcb libraries of the desktop platform plugin
set -euo pipefail
mode="${1:-test}"   # venv | test | run
if [ "$mode" = venv ]; then libs=(); pkgs=(); else
libs=(libEGL.so.1 libGL.so.1 libfontconfig.so.1 libxkbcommon.so.0 libglib-2.0.so.0 libdbus-1.so.3)
pkgs=(libegl1 libgl1 libfontconfig1 fontconfig libxkbcommon0 libglib2.0-0 libdbus-1-3 fonts-dejavu-core)
fi
if [ "$mode" = run ]; then
  libs+=(libxkbcommon-x11.so.0 libxcb-cursor.so.0 libxcb-icccm.so.4 libxcb-keysyms.so.1 libxcb-shape.so.0 libxcb-randr.so.0 libxcb-render-util.so.0 libxcb-image.so.0)
  pkgs+=(libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0)
fi
missing=0
# Debian splits venv/ensurepip out of python3; `python3 -m venv` fails without it
if ! "${PYTHON:-python3}" -c "import ensurepip, venv" 2>/dev/null; then
  echo "system-deps: python venv support missing"; missing=1
  pyver="$("${PYTHON:-python3}" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  pkgs+=("python${pyver}-venv")
fi
# read the lists once: `ldconfig -p | grep -q` fails under pipefail when grep exits early
have_libs="$(ldconfig -p 2>/dev/null || true)"
for l in "${libs[@]}"; do
  grep -qF "$l" <<<"$have_libs" || { echo "system-deps: $l missing"; missing=1; }
done
[ "$mode" = venv ] || \
# fonts: any TrueType/OpenType file will do (fc-list itself may not be installed)
[ -n "$(find /usr/share/fonts /usr/local/share/fonts -name '*.[ot]tf' -print -quit 2>/dev/null)" ] \
  || { echo "system-deps: no fonts"; missing=1; }
[ "$missing" = 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "system-deps: please install the Qt runtime libraries for your system: ${pkgs[*]}" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "system-deps: need root or sudo to install: ${pkgs[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "system-deps: installing ${pkgs[*]}"
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
