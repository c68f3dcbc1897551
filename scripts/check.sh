#!/usr/bin/env bash
# Extra builds beyond the README's two commands:
#   scripts/check.sh sanitize   # ASan + UBSan build (build-sanitize/), runs every test
#   scripts/check.sh clang      # clang++ build (build-clang/), must be warning-free, runs every test
#   scripts/check.sh gcc        # g++ build with -Werror (build-werror/)
# Exits non-zero on the first failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:?usage: scripts/check.sh sanitize|clang|gcc}
"$root/scripts/setup.sh" >/dev/null  # packages and the default build
case "$what" in
  sanitize)
    build=$root/build-sanitize
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DLANDMARK_SANITIZE=address,undefined -DPython3_EXECUTABLE=/usr/bin/python3
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    ;;
  clang)
    build=$root/build-clang
    CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_FLAGS=-Werror -DPython3_EXECUTABLE=/usr/bin/python3
    ;;
  gcc)
    build=$root/build-werror
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-Werror \
      -DPython3_EXECUTABLE=/usr/bin/python3
    ;;
  *) echo "unknown check '$what'" >&2; exit 2 ;;
esac
cmake --build "$build"
ctest --test-dir "$build" --output-on-failure -j 2
