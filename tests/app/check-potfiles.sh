#!/bin/sh
# Fails when a source file that marks strings for translation is missing
# from po/POTFILES.in, or when POTFILES.in names a file that does not exist.
set -u
top=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 2
status=0
potfiles=$(grep -v '^[[:space:]]*#' po/POTFILES.in | grep -v '^[[:space:]]*$')
for f in $potfiles; do
  if [ ! -f "$f" ]; then
    echo "po/POTFILES.in lists $f, which does not exist"
    status=1
  fi
done
for f in $(grep -rlE '(^|[^A-Za-z0-9_])N?_\(' src --include='*.c' | sort) \
         $(grep -rl 'translatable="yes"' resources --include='*.ui' 2>/dev/null | sort); do
  if ! printf '%s\n' $potfiles | grep -qx "$f"; then
    echo "$f marks strings for translation but is missing from po/POTFILES.in"
    status=1
  fi
done
[ $status -eq 0 ] && echo "po/POTFILES.in is complete"
exit $status
