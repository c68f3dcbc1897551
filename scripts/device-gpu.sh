#!/usr/bin/env bash
# scripts/device-gpu.sh OUT [DEBS]: issue 17 item 2 on a GPU machine in one
# call: builds the CLI, the CUDA backend and its tests with the machine's
# g++ and nvcc (scripts/device-build.sh), checks every CUDA result against
# the CPU (test_backend_cuda, the bf16 tensor-core prefill included), then
# resident GPU decode for batches 1..256 against HBM (bench decode
# --gpu-batches, with the backend's per-call kernel profile) and the prefill
# kernels, f32 CUDA cores and bf16 tensor cores, against their peaks, and
# FlashPrefill's mask found on the GPU (--gpu-mask) against the CPU's.
# Logs and CSVs go to OUT. PREFILL_LENGTHS / BATCHES change the sizes;
# PREFILL=0 stops after decode, DECODE=0 skips it.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: device-gpu.sh OUT [DEBS]}
debs=${2:-$root/.dev/debs}
cd "$root"
step() { echo; echo "=== $* ($(date -u +%T))"; }
step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv || true
nproc; g++ --version | head -1; nvcc --version | tail -1
step "build"
CONFIGURE_ONLY=1 scripts/device-build.sh "$debs" "$root/.dev/prefix" "$root/build-device" > "$out/configure.log" 2>&1 ||
  { tail -30 "$out/configure.log"; exit 1; }
export LD_LIBRARY_PATH=$root/.dev/prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
cmake --build build-device -j "$(nproc)" --target landmark_cli landmark_bench landmark_cuda test_backend_cuda > "$out/build.log" 2>&1 ||
  { grep -E "error|warning" "$out/build.log" | head -40; exit 1; }
grep -c warning "$out/build.log" | sed 's/^/build warnings: /'
grep -E "warning" "$out/build.log" | head -10
cli=build-device/bin/landmark
step "backend tests: CUDA vs CPU"
timeout 240 build-device/bin/test_backend_cuda 2>&1 | tail -40
if [ "${DECODE:-1}" = 1 ]; then
step "bench decode: resident GPU batches (1M tokens)"
timeout "${DECODE_TIMEOUT:-300}" "$cli" bench decode --device cuda --no-cold --sizes 1048576 \
  --gpu-batches "${BATCHES:-1,2,4,8,16,32,64,128,256}" --dir /tmp/landmark-gpu --csv "$out/decode-cuda.csv" \
  --scaling-csv "$out/decode-scaling.csv" --no-plot
echo "exit $?"
fi
[ "${PREFILL:-1}" = 1 ] || { step "done"; exit 0; }
step "bench prefill: bf16 tensor cores"
timeout 240 "$cli" bench prefill --device cuda --gpu-tensor-cores --lengths "${PREFILL_LENGTHS:-16384,65536}" \
  --patterns random --policies flashprefill --csv "$out/prefill-tc.csv" --no-plot
echo "exit $?"
step "bench prefill: f32 CUDA cores"
timeout 150 "$cli" bench prefill --device cuda --lengths 16384 --patterns random --policies flashprefill \
  --csv "$out/prefill-f32.csv" --no-plot
echo "exit $?"
step "bench prefill: FlashPrefill mask on the GPU (f32 kernel)"
timeout 200 "$cli" bench prefill --device cuda --gpu-mask --lengths "${MASK_LENGTHS:-16384,65536}" --patterns mixture \
  --policies flashprefill --csv "$out/prefill-gpu-mask.csv" --no-plot
echo "exit $?"
step "done"
