#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for a
# bounded time (FUZZ_SECONDS, default 60) from its committed seed corpus:
# rules parser+compiler, NDJSON and CSV ingestion, reference-data CSV, and the
# differential target (engine vs reference evaluator vs online replay).
# Any crash, leak, sanitizer report or real hang fails the run (an input
# that timed out is re-run alone first, so a busy machine is no failure); the input is
# left in build/fuzz/artifacts/ to become a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSANAD_BUILD_FUZZ=ON \
  -DSANAD_BUILD_TESTS=OFF -DSANAD_BUILD_BENCH=OFF -DSANAD_BUILD_PYTHON=OFF >/dev/null
TARGETS=(rules ndjson csv refcsv differential)
cmake --build build/fuzz -j "$(nproc)" --target "${TARGETS[@]/#/fuzz_}"
mkdir -p build/fuzz/artifacts
status=0
for target in "${TARGETS[@]}"; do
  work=build/fuzz/corpus-$target
  rm -rf "$work" && mkdir -p "$work"
  cp fuzz/corpus/$target/* "$work"/
  echo "== fuzz_$target for ${SECONDS_EACH}s"
  log=build/fuzz/fuzz_$target.log
  rc=0
  dict=()
  if [ -f "fuzz/$target.dict" ]; then dict=(-dict="fuzz/$target.dict"); fi
  ./build/fuzz/fuzz/fuzz_$target "$work" "${dict[@]}" -max_total_time="$SECONDS_EACH" \
    -max_len=4096 -timeout=30 -rss_limit_mb=2048 -artifact_prefix=build/fuzz/artifacts/ -print_final_stats=1 \
    >"$log" 2>&1 || rc=$?
  grep -E "^(Done|stat::number_of_executed_units)" "$log" || true
  # A per-input timeout on a busy machine is not a hang: run that input
  # alone with a generous bound; only if it is still slow (or crashes) does
  # the step fail. Crashes, leaks and sanitizer reports always fail.
  if [ "$rc" -ne 0 ] && grep -q "ERROR: libFuzzer: timeout" "$log"; then
    slow=$(grep -oE "build/fuzz/artifacts/timeout-[0-9a-f]+" "$log" | tail -1)
    if [ -n "$slow" ] && ./build/fuzz/fuzz/fuzz_$target "$slow" -timeout=120 -rss_limit_mb=2048 >"$log.rerun" 2>&1; then
      echo "fuzz_$target: input $slow timed out under load but runs alone in time; not a hang"
      rm -f "$slow"
      rc=0
    fi
  fi
  if [ "$rc" -ne 0 ]; then
    echo "fuzz_$target FAILED (exit $rc); see $log and build/fuzz/artifacts/"
    grep -E "ERROR|SUMMARY|crash-|leak-|timeout-" "$log" | head -20 || true
    status=1
  fi
done
exit $status
