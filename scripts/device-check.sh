#!/usr/bin/env bash
# scripts/device-check.sh OUT [DEBS]: the whole build (CUDA backend, tests,
# benches) with the device machine's compiler, warnings listed, then every
# test (issue 15 item 13: g++ 13 on the GPU machine). Logs go to OUT.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: device-check.sh OUT [DEBS]}
debs=${2:-$root/.dev/debs}
cd "$root"
g++ --version | head -1 | tee "$out/compiler.txt"
CONFIGURE_ONLY=1 scripts/device-build.sh "$debs" "$root/.dev/prefix" "$root/build-device" > "$out/configure.log" 2>&1 ||
  { tail -30 "$out/configure.log"; exit 1; }
# The prefix's libz.so is a link to the system's path: use the machine's zlib
# (a static libz.a cannot go into liblandmark.so).
zlib=$(ls /usr/lib/x86_64-linux-gnu/libz.so.1 2>/dev/null) && cmake build-device -DZLIB_LIBRARY="$zlib" -DZLIB_LIBRARY_RELEASE="$zlib" >> "$out/configure.log" 2>&1
export LD_LIBRARY_PATH=$root/.dev/prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
cmake --build build-device -j "$(nproc)" -- -k 0 > "$out/build.log" 2>&1 || { grep -E "error" "$out/build.log" | head -40; exit 1; }
echo "build warnings: $(grep -c 'warning:' "$out/build.log")"
grep -E "warning:" "$out/build.log" | sort -u | head -20
ctest --test-dir build-device -j "$(nproc)" --timeout 300 > "$out/ctest.log" 2>&1
grep -E "tests passed|tests failed|\(Failed\)|\(Timeout\)|\*\*\*" "$out/ctest.log" | head -40
