#!/usr/bin/env bash
# The three install routes (README "Install"), each used as a consumer would:
#   1. `cmake --install` into a prefix: the installed CLI and Python package
#      run, and examples/embed builds with find_package(Sanad) against it;
#   2. `pip install --no-build-isolation .` into a virtual environment (system
#      site packages for numpy/pandas; nothing downloaded), and the Python
#      suite runs against the installed package;
#   3. the .deb from CPack, installed with apt: `sanad` on PATH, `import sanad`
#      in /usr/bin/python3, find_package(Sanad) with no hints; then removed.
# Needs a configured and built build/release (scripts/test.sh does that first).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build/release
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
EX=$ROOT/examples
REFS=(mri="$EX/mri.csv" tariff="$EX/tariff.csv" ptp="$EX/ptp.csv")

# Runs the embedding example built in $1 and checks its verdicts file
# against the example's expected output.
check_embed() {
  local bin=$1 out=$2
  mkdir -p "$out"
  (cd "$out" && "$bin" "$EX/outpatient.sanad" "$EX/claims.ndjson" "${REFS[@]}") > "$out/stdout"
  grep -q "^sanad " "$out/stdout"
  grep -q "^online ONLINE-1 line 1: " "$out/stdout"
  cmp "$out/verdicts.csv" "$EX/expected/verdicts.csv"
  # Misuse is a printed error, not a crash: a missing file and unbound data.
  if "$bin" "$WORK/no-such.sanad" "$EX/claims.ndjson" 2> "$out/missing.err"; then exit 1; fi
  grep -q "no-such.sanad" "$out/missing.err"
  if "$bin" "$EX/outpatient.sanad" "$EX/claims.ndjson" 2> "$out/unbound.err"; then exit 1; fi
  grep -q "missing reference data for external" "$out/unbound.err"
}

echo "-- 1. cmake --install"
PREFIX=$WORK/prefix
cmake --install "$BUILD" --prefix "$PREFIX" > /dev/null
test -f "$PREFIX/include/sanad/api/rules.h"
test -f "$PREFIX/lib/cmake/Sanad/SanadConfig.cmake"
"$PREFIX/bin/sanad" --version | grep -q "^sanad "
(cd "$WORK" && PYTHONPATH="$PREFIX/lib/python3/dist-packages" /usr/bin/python3 -c \
  "import sanad, sys; assert sanad.__file__.startswith(sys.argv[1]), sanad.__file__; print('python', sanad.__version__)" "$PREFIX")
cmake -S "$EX/embed" -B "$WORK/embed-prefix" -G Ninja -DCMAKE_PREFIX_PATH="$PREFIX" > /dev/null
cmake --build "$WORK/embed-prefix" > /dev/null
check_embed "$WORK/embed-prefix/sanad_embed" "$WORK/run-prefix"

echo "-- 2. pip install into a virtual environment"
/usr/bin/python3 -m venv --system-site-packages "$WORK/venv"
SANAD_PIP_BUILD_DIR="${SANAD_PIP_BUILD_DIR:-$WORK/pip-build}" "$WORK/venv/bin/pip" install --no-build-isolation --no-index --quiet "$ROOT"
(cd "$WORK" && "$WORK/venv/bin/python" -c \
  "import sanad, sys; assert sanad.__file__.startswith(sys.argv[1]), sanad.__file__; print('pip', sanad.__version__)" "$WORK/venv")
(cd "$ROOT" && env -u PYTHONPATH SANAD_CLI="$BUILD/cli/sanad" "$WORK/venv/bin/python" -m pytest -q -p no:cacheprovider python/tests)

echo "-- 3. the .deb"
(cd "$BUILD" && rm -f sanad_*.deb && cpack -G DEB > /dev/null)
DEB=$(ls "$BUILD"/sanad_*.deb)
dpkg-deb -c "$DEB" > "$WORK/deb-contents"
for f in ./usr/bin/sanad ./usr/include/sanad/api/rules.h ./usr/lib/cmake/Sanad/SanadConfig.cmake ./usr/lib/python3/dist-packages/sanad/__init__.py; do
  grep -q " $f$" "$WORK/deb-contents" || { echo "the .deb lacks $f"; exit 1; }
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq --no-install-recommends "$DEB" > "$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log"; exit 1; }
trap '$SUDO apt-get remove -y -qq sanad > /dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
test "$(command -v sanad)" = /usr/bin/sanad
sanad --version | grep -q "^sanad "
(cd "$WORK" && env -u PYTHONPATH /usr/bin/python3 -c \
  "import sanad; assert sanad.__file__.startswith('/usr/lib/python3/dist-packages/'), sanad.__file__; print('deb', sanad.__version__)")
cmake -S "$EX/embed" -B "$WORK/embed-deb" -G Ninja > /dev/null
cmake --build "$WORK/embed-deb" > /dev/null
check_embed "$WORK/embed-deb/sanad_embed" "$WORK/run-deb"
echo "install routes: all three work"
