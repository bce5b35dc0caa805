#!/usr/bin/env bash
# Installs every Debian 12 package Sanad needs to build, test, benchmark and fuzz.
# Idempotent: packages already present are skipped; apt is called only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev            # libFuzzer targets and sanitizers
  libtbb-dev libsimdjson-dev libxxhash-dev
  libbenchmark-dev libgtest-dev libgmock-dev
  libcli11-dev libfmt-dev             # CLI parsing and formatting (see README)
  libabsl-dev                         # absl::flat_hash_map: online engine key state
  libicu-dev                          # tests only: Jalali calendar cross-check against ICU
  pybind11-dev python3-dev python3-numpy python3-pandas python3-pytest python3-matplotlib
  python3-venv python3-pip python3-setuptools   # the pip install route (scripts/test-install.sh)
  chromium                            # tests only: the compare() report rendered in a real browser
  python3-dask python3-distributed    # sanad.dask: distributed batch adjudication
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
