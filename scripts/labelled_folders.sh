#!/usr/bin/env bash
# Labelled folders of real pictures nobody here made, as symbolic-link trees (one
# sub-folder per class), for measuring whether clusters follow what pictures show:
#   OUT/clipart10  openclipart-png: ten human-made categories (mammals, birds, bugs, fruit,
#                  desserts, Asian flags, playing cards, music, vehicles, sports), at most
#                  60 pictures each, in sorted order
#   OUT/oxygen6    oxygen-icon-theme's 64x64 icons by context (actions, apps, devices,
#                  mimetypes, places, status), at most 60 each
# Usage: scripts/labelled_folders.sh OUT
# Needs: sudo apt-get install -y openclipart-png oxygen-icon-theme (installed when root).
set -euo pipefail
OUT=${1:?usage: scripts/labelled_folders.sh OUT}
CLIP=/usr/share/openclipart/png
OXY=/usr/share/icons/oxygen/base/64x64
if { [ ! -d "$CLIP" ] || [ ! -d "$OXY" ]; } && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get install -y -qq openclipart-png oxygen-icon-theme >/dev/null
fi
[ -d "$CLIP" ] || { echo "labelled_folders: sudo apt-get install -y openclipart-png" >&2; exit 1; }
[ -d "$OXY" ] || { echo "labelled_folders: sudo apt-get install -y oxygen-icon-theme" >&2; exit 1; }
link_class() {  # DEST SRC: the first 60 PNGs under SRC (sorted), as links in DEST
  local dest=$1 src=$2 f
  mkdir -p "$dest"
  find -L "$src" -name '*.png' -type f | LC_ALL=C sort | head -n 60 | while read -r f; do
    ln -sf "$f" "$dest/$(basename "$(dirname "$f")")-$(basename "$f")"
  done
}
rm -rf "$OUT/clipart10" "$OUT/oxygen6"
for pair in mammals:animals/mammals birds:animals/birds bugs:animals/bugs fruit:food/fruit \
    desserts:food/desserts flags:signs_and_symbols/flags/asia cards:recreation/games/cards/simple \
    music:recreation/music vehicles:transportation/vehicles sports:recreation/sports; do
  link_class "$OUT/clipart10/${pair%%:*}" "$CLIP/${pair#*:}"
done
for c in actions apps devices mimetypes places status; do
  link_class "$OUT/oxygen6/$c" "$OXY/$c"
done
for d in "$OUT/clipart10" "$OUT/oxygen6"; do
  echo "$d: $(find "$d" -type l | wc -l) pictures in $(ls "$d" | wc -l) classes"
done
