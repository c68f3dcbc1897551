#!/usr/bin/env bash
# Install missing Debian packages, then configure and build landmark (Release, Ninja).
# Re-running it when everything is present takes seconds.
#
#   scripts/setup.sh [build-dir] [extra cmake args...]
#
# Environment: LANDMARK_BUILD_TYPE (default Release), CC/CXX as usual.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true

packages=(build-essential cmake ninja-build pkg-config
  libdnnl-dev ocl-icd-opencl-dev libtbb-dev libhwy-dev doctest-dev libmimalloc-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libxxhash-dev libfmt-dev zlib1g-dev
  libpcre2-dev libutf8proc-dev libsqlite3-dev
  libopenmpi-dev openmpi-bin
  python3-numpy python3-matplotlib python3-pytest python3-setuptools python3-wheel python3-pip)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "landmark setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE="${LANDMARK_BUILD_TYPE:-Release}" \
    -DPython3_EXECUTABLE=/usr/bin/python3 "$@"
fi
cmake --build "$build"
