#!/usr/bin/env bash
# scripts/device-cpu-profile.sh OUT [DEBS]: issue 17 item 1 on the GPU
# machine's 16-core host, CPU only: builds landmark-bench (no CUDA) with the
# machine's g++, then `bench decode` at 1M tokens with a thread sweep and
# LANDMARK_CPU_PROFILE=1, and the per-step medians (plan, select = score +
# choose, attend+fuse, explain) per store and thread count. Logs go to OUT as they
# are written (a cut-off run still leaves them). THREADS changes the sweep.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: device-cpu-profile.sh OUT [DEBS]}
debs=${2:-$root/.dev/debs}
cd "$root"
nproc; g++ --version | head -1
CONFIGURE_ONLY=1 scripts/device-build.sh "$debs" "$root/.dev/prefix" "$root/build-device" > "$out/configure.log" 2>&1 &&
  cmake build-device -DLANDMARK_CUDA=OFF >> "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
export LD_LIBRARY_PATH=$root/.dev/prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
cmake --build build-device -j "$(nproc)" --target landmark_bench > "$out/build.log" 2>&1 ||
  { grep -E "error" "$out/build.log" | head -20; exit 1; }
echo "built $(date -u +%T)"
LANDMARK_CPU_PROFILE=1 build-device/bin/landmark-bench decode --sizes 1048576 --no-cold \
  --thread-sweep "${THREADS:-1,4,16}" --dir /tmp/landmark-cpu --csv "$out/decode.csv" \
  --scaling-csv "$out/decode-scaling.csv" --no-plot > "$out/bench.log" 2> "$out/profile.log"
echo "bench exit $?"
grep -v cpu-profile "$out/profile.log" | tail -5
python3 perf/cpu_profile_summary.py < "$out/profile.log" | tee "$out/summary.txt"
grep -E "threads|^store|G 4" "$out/bench.log" | head -20
