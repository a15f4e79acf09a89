#!/bin/sh
# Install the desktop entry, AppStream metainfo and icons under $PREFIX (default ~/.local).
#
#   packaging/install-desktop-entry.sh                 # for the current user
#   PREFIX=/usr DESTDIR=pkgroot packaging/install-desktop-entry.sh   # for a package
#
# The entry runs `anomalizer-desktop` from PATH (pip's gui-script or the PyInstaller bundle).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
res="$here/../resources"
prefix=${PREFIX:-$HOME/.local}
root="${DESTDIR:-}$prefix/share"
id=io.anomalizer.Desktop

install -Dm644 "$here/$id.desktop" "$root/applications/$id.desktop"
install -Dm644 "$here/$id.metainfo.xml" "$root/metainfo/$id.metainfo.xml"
install -Dm644 "$res/anomalizer.svg" "$root/icons/hicolor/scalable/apps/$id.svg"
install -Dm644 "$res/anomalizer.png" "$root/icons/hicolor/256x256/apps/$id.png"
install -Dm644 "$res/anomalizer-64.png" "$root/icons/hicolor/64x64/apps/$id.png"
if [ -z "${DESTDIR:-}" ]; then
    command -v update-desktop-database >/dev/null && update-desktop-database -q "$root/applications" || true
    command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$root/icons/hicolor" || true
fi
echo "installed $id under $root"
