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
# Files under version control only (in a clone that is all of them; in a
# shared working tree, someone's unfinished new file is not ours to list).
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  sources=$(git -C "$top" ls-files 'src/*.c' 'resources/*.ui')
else
  sources=$(find src resources -name '*.c' -o -name '*.ui')
fi
for f in $(grep -lE '(^|[^A-Za-z0-9_])N?_\(' $(echo "$sources" | grep '\.c$') /dev/null | sort) \
         $(grep -l 'translatable="yes"' $(echo "$sources" | grep '\.ui$') /dev/null | sort); do
  if ! printf '%s\n' $potfiles | grep -qx "$f"; then
    echo "$f marks strings for translation but is missing from po/POTFILES.in"
    status=1
  fi
done
[ $status -eq 0 ] && echo "po/POTFILES.in is complete"
exit $status
