#!/bin/sh
# Launch → first frame and → library shown, and the RSS then, for the
# window on a given library (docs/BENCHMARKS.md, "The window"). Needs a
# display (xvfb-run -a). Usage: bench-startup.sh DOCENT LIBRARY [RUNS]
# Each run starts from a fresh process; the launch time is taken just
# before exec, so the figures include the dynamic loader and GTK's start.
set -eu
bin=$1
library=$2
runs=${3:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
while [ "$i" -lt "$runs" ]; do
  i=$((i + 1))
  start=$(date +%s%6N)
  out=$(XDG_DATA_HOME="$tmp" XDG_CONFIG_HOME="$tmp" GSETTINGS_BACKEND=memory GSK_RENDERER=${GSK_RENDERER:-cairo} \
        DOCENT_TIMING=exit timeout 60 "$bin" --library "$library" 2>&1)
  frame=$(echo "$out" | awk '/docent-timing: first-frame/ {print $3; exit}')
  loaded=$(echo "$out" | awk '/docent-timing: library-loaded/ {print $3; exit}')
  rss=$(echo "$out" | awk '/docent-timing: (first-frame|library-loaded)/ {r = $5} END {print r}')
  [ -n "$frame" ] && [ -n "$loaded" ] || { echo "run $i: no timing stamps"; echo "$out"; exit 1; }
  echo "run $i: first frame $(( (frame - start) / 1000 )) ms, library shown $(( (loaded - start) / 1000 )) ms, RSS $((rss / 1024)) MiB"
done
