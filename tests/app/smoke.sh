#!/bin/sh
# The real executable opens its window (AdwApplication, resources, CSS,
# shortcuts window, settings) on an empty library, paints a frame, lists the
# library and quits: DOCENT_TIMING=exit. Skipped (77) without a display.
set -u
[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || { echo "no display"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$(XDG_DATA_HOME="$tmp" XDG_CONFIG_HOME="$tmp" GSETTINGS_BACKEND=memory DOCENT_TIMING=exit \
      timeout 60 "$DOCENT_BIN" --search "anything" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "docent exited with $rc"; exit 1; }
echo "$out" | grep -q "docent-timing: first-frame" || { echo "no frame painted"; exit 1; }
echo "$out" | grep -q "docent-timing: library-loaded" || { echo "library not listed"; exit 1; }
if echo "$out" | grep -E "CRITICAL|WARNING" | grep -v "dbus-launch\|session bus\|Settings portal" >/dev/null; then
  echo "warnings on the way"; exit 1
fi
exit 0
