#!/usr/bin/env bash
# Builds everything and runs every test: the Release suite (C++ tests via
# ctest, Python tests via pytest), the three install routes
# (scripts/test-install.sh), then the whole C++ suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer (Debug), the online engine's
# tests under ThreadSanitizer, then a bounded libFuzzer run of every fuzz
# target (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
JOBS=$(nproc)

echo "== Release build"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build build/release -j "$JOBS"
echo "== Release tests"
ctest --test-dir build/release --output-on-failure -j "$JOBS"

if [ -d python/tests ]; then
  echo "== Python tests"
  PYTHONPATH="$PWD/build/release/python" /usr/bin/python3 -m pytest -q python/tests
fi

echo "== Install routes: cmake --install + find_package, pip into a venv, the .deb"
bash scripts/test-install.sh

echo "== ASan+UBSan build (Debug)"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSANAD_SANITIZE=address,undefined \
  -DSANAD_BUILD_BENCH=OFF -DSANAD_BUILD_PYTHON=OFF >/dev/null
cmake --build build/asan -j "$JOBS"
echo "== ASan+UBSan tests"
SANAD_PROPERTY_CASES=400 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j "$JOBS"
echo "== ThreadSanitizer: online engine concurrency and exactness tests"
cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSANAD_SANITIZE=thread \
  -DSANAD_BUILD_BENCH=OFF -DSANAD_BUILD_PYTHON=OFF >/dev/null
cmake --build build/tsan -j "$JOBS" --target online_tests
SANAD_PROPERTY_CASES=200 TSAN_OPTIONS="halt_on_error=1" build/tsan/tests/online_tests
echo "== Fuzzing (bounded)"
bash scripts/fuzz.sh
echo "== all tests passed"
