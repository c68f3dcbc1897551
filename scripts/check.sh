#!/usr/bin/env bash
# Extra builds beyond the README's two commands:
#   scripts/check.sh sanitize    # ASan + UBSan build (build-sanitize/), runs every test
#   scripts/check.sh clang       # clang++ (Debian 12: 14) build (build-clang/), warning-free (-Werror), every test
#   scripts/check.sh gcc         # g++ (Debian 12: 12) build with -Werror (build-werror/), every test
#   scripts/check.sh clang-16    # the same with clang++-16 (build-clang-16/): any installed clang++-N
#                                # (apt-get install clang-15 clang-16), the newest here being 16
#   scripts/check.sh gcc-13      # the same with g++-13 (build-gcc-13/): any installed g++-N; another
#                                # g++ by path: CXX=/opt/gcc/bin/g++ CC=/opt/gcc/bin/gcc scripts/check.sh gcc
#   scripts/check.sh compilers   # every g++-N and clang++-N installed, one after another
# Exits non-zero on the first failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:?usage: scripts/check.sh sanitize|clang|gcc|clang-N|gcc-N|compilers}
if [ "$what" = compilers ]; then
  for cxx in $(compgen -c | grep -E '^(g|clang)\+\+-[0-9]+$' | sort -u); do
    echo "== ${cxx/++/} =="
    "$0" "${cxx/++/}"
  done
  exit 0
fi
"$root/scripts/setup.sh" >/dev/null  # packages and the default build
# A warning-free build with the compilers $1 (C++) and $2 (C) in $3, then every test.
strict_build() {
  command -v "$1" >/dev/null || { echo "$1 is not installed (Debian: apt-get install ${1/++/})" >&2; exit 2; }
  build=$3
  CXX=$1 CC=$2 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS=-Werror -DCMAKE_C_FLAGS=-Werror -DPython3_EXECUTABLE=/usr/bin/python3
}
case "$what" in
  sanitize)
    build=$root/build-sanitize
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DLANDMARK_SANITIZE=address,undefined -DPython3_EXECUTABLE=/usr/bin/python3
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    ;;
  clang) strict_build clang++ clang "$root/build-clang" ;;
  gcc) strict_build "${CXX:-g++}" "${CC:-gcc}" "$root/build-werror" ;;
  clang-[0-9]*) strict_build "clang++-${what#clang-}" "clang-${what#clang-}" "$root/build-$what" ;;
  gcc-[0-9]*) strict_build "g++-${what#gcc-}" "gcc-${what#gcc-}" "$root/build-$what" ;;
  *) echo "unknown check '$what'" >&2; exit 2 ;;
esac
cmake --build "$build"
ctest --test-dir "$build" --output-on-failure -j 2
