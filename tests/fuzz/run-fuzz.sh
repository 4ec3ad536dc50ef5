#!/bin/bash
# Builds the GGUF reader fuzz target with clang (libFuzzer + ASan + UBSan) and
# runs it for a bounded time, seeded with the crafted corpus from
# tests/llm/gguf-craft.h and the small real GGUF files.
#
#   tests/fuzz/run-fuzz.sh [SECONDS] [BUILD_DIR]
#
# Longer runs: tests/fuzz/run-fuzz.sh 3600, or run the binary it prints
# directly with -jobs=N -workers=N. Crashes are saved as crash-* in the
# work directory, which this script prints; a crash fails the run. Exits 77
# (skipped) when clang is missing.
set -eu -o pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-60}
out=${2:-${DOCENT_BUILD_DIR:-$top/build}/fuzz}
if ! command -v clang >/dev/null; then
  echo "run-fuzz: clang not found; skipping the fuzzer" >&2
  exit 77
fi
mkdir -p "$out/corpus" "$out/seeds"
src=$top/src/llm
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$src" -I"$top/tests/llm" \
  "$top/tests/fuzz/fuzz-gguf.c" "$src/llm-gguf.c" "$src/llm-quant.c" "$src/llm-quant-nosimd.c" \
  -lm -lpthread -o "$out/fuzz-gguf"
# seeds: the crafted good and bad files, and the small real vocabulary files
clang -O1 -I"$src" -I"$top/tests/llm" -x c - -o "$out/write-seeds" <<'C'
#include <stdio.h>
#include "gguf-craft.h"
int main (int argc, char **argv) {
  char path[4096];
  for (size_t i = 0; i <= CRAFT_N_CASES; i++) {
    craft_buf b = { 0 };
    if (i < CRAFT_N_CASES) craft_build (i, &b); else craft_valid (&b);
    snprintf (path, sizeof path, "%s/%s.gguf", argv[1], i < CRAFT_N_CASES ? craft_cases[i].name : "valid");
    FILE *f = fopen (path, "wb");
    if (!f) return 1;
    if (b.len) fwrite (b.p, 1, b.len, f);
    fclose (f);
    free (b.p);
  }
  return 0;
}
C
"$out/write-seeds" "$out/seeds"
shared=${DOCENT_SHARED_DIR:-$top/../shared}
for f in "$shared"/tokenizers/ggml-vocab-gpt-2.gguf "$shared"/tokenizers/ggml-vocab-bert-bge.gguf; do
  [ -f "$f" ] && cp "$f" "$out/seeds/" || true
done
echo "run-fuzz: $out/fuzz-gguf for ${seconds}s (corpus $out/corpus)"
cd "$out"
./fuzz-gguf -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 corpus seeds 2>&1 | tail -n 25
