#!/usr/bin/env bash
# scripts/device-scale.sh OUT: issue 17's measurements on a GPU machine in one
# call: builds (g++ of the machine, nvcc; scripts/device-build.sh with only
# the targets needed), checks the CUDA backend against the CPU
# (test_backend_cuda), then `bench decode` at 1M tokens with the thread
# sweep, concurrent streams and GPU batches. Logs and CSVs go to OUT.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: device-scale.sh OUT [DEBS]}
debs=${2:-$root/.dev/debs}
cd "$root"
step() { echo; echo "=== $* ($(date -u +%T))"; }
step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
nproc; g++ --version | head -1; nvcc --version | tail -1
step "build"
CONFIGURE_ONLY=1 scripts/device-build.sh "$debs" "$root/.dev/prefix" "$root/build-device" > "$out/configure.log" 2>&1 ||
  { tail -30 "$out/configure.log"; exit 1; }
export LD_LIBRARY_PATH=$root/.dev/prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
cmake --build build-device -j "$(nproc)" --target landmark_cli landmark_bench landmark_cuda test_backend_cuda > "$out/build.log" 2>&1 ||
  { grep -E "error|warning" "$out/build.log" | head -30; exit 1; }
grep -c warning "$out/build.log" | sed 's/^/build warnings: /'
cli=build-device/bin/landmark
step "backend tests: CUDA vs CPU"
timeout 200 build-device/bin/test_backend_cuda 2>&1 | tail -4
step "bench decode: threads, streams, GPU batches (1M tokens)"
timeout "${BENCH_TIMEOUT:-330}" "$cli" bench decode --device cuda --no-cold --sizes 1048576 --thread-sweep 1,2,4,8,16 \
  --streams 1,4,16,64 --gpu-batches 1,8,64,256 --dir /tmp/landmark-scale --csv "$out/decode-cuda.csv" \
  --scaling-csv "$out/decode-scaling.csv" --no-plot
echo "exit $?"
step "done"
