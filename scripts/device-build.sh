#!/usr/bin/env bash
# scripts/device-build.sh [DEBS] [PREFIX] [BUILD]: on a machine without the
# Debian -dev packages (a GPU device machine), unpacks the .debs that
# scripts/device-deps.sh downloaded (default .dev/debs) with `dpkg -x` into
# PREFIX inside the tree (default .dev/prefix; never into /), then
# configures and builds landmark with the CUDA backend into BUILD (default
# build-device) against that prefix. Afterwards run with
#   export LD_LIBRARY_PATH=$PREFIX/usr/lib/x86_64-linux-gnu:$LD_LIBRARY_PATH
# (scripts/device-env.sh prints that line).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
debs=$(realpath -m "${1:-$root/.dev/debs}")
prefix=$(realpath -m "${2:-$root/.dev/prefix}")
build=$(realpath -m "${3:-$root/build-device}")
case "$prefix" in "$root"/*) ;; *) echo "device-build.sh: the prefix must be inside $root (got $prefix)" >&2; exit 2;; esac
mkdir -p "$prefix"
for deb in "$debs"/*.deb; do dpkg -x "$deb" "$prefix"; done
lib=$prefix/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PKG_CONFIG_PATH=$lib/pkgconfig:$prefix/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$prefix   # the .pc files say prefix=/usr
pkgconfig=$(command -v pkg-config || echo "$prefix/usr/bin/pkgconf")
# -isystem: pkg-config drops /usr/include as a system directory, so
# xxhash.h (no CMake config) is found through the prefix's include dir.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLANDMARK_CUDA=ON -DLANDMARK_BUILD_PERF=OFF \
  -DCMAKE_PREFIX_PATH="$prefix/usr;$lib/cmake;$prefix/usr/share/cmake;$prefix/usr/lib/cmake" \
  -DCMAKE_FIND_ROOT_PATH="$prefix" -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=BOTH \
  -DPKG_CONFIG_EXECUTABLE="$pkgconfig" -DCMAKE_BUILD_RPATH="$lib" \
  -DCMAKE_CXX_FLAGS="-isystem $prefix/usr/include" \
  -DPython3_EXECUTABLE="$(command -v python3)"
[ "${CONFIGURE_ONLY:-0}" = 1 ] || cmake --build "$build" -j "$(nproc)"
