#!/usr/bin/env bash
# scripts/device-run.sh [BUILD] [PREFIX]: on a GPU machine, after
# scripts/device-build.sh (or with a build carried there), runs what the
# CUDA backend is checked and measured by: the device report, the backend
# tests (every CUDA result against the CPU backend), a query on the GPU, and
# the decode and prefill benchmarks with --device cuda. Everything goes to
# stdout; results CSVs go to perf/results/ (named after the GPU).
# DECODE_SIZES / PREFILL_LENGTHS / PREFILL_PATTERNS change the benchmarks' sizes;
# DECODE_LARGE (e.g. 16777216) adds one-kv-head stores measured last, on their
# own (perf/results/decode-cuda-large.csv), so that a time limit loses only them.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$root/build-device}")
prefix=$(realpath -m "${2:-$root/.dev/prefix}")
export LD_LIBRARY_PATH=$prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
cli=$build/bin/landmark
step() { echo; echo "=== $* ($(date -u +%T))"; }
cd "$root"
step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,pcie.link.gen.max,pcie.link.width.max --format=csv || true
nproc; df -h /tmp | tail -1
step "landmark info --devices"
"$cli" info --devices
step "backend tests: CUDA vs CPU (tests/backend)"
timeout "${TEST_TIMEOUT:-240}" "$build/bin/test_backend_cuda"; echo "exit $?"
timeout 60 "$build/bin/test_backend"; echo "exit $?"
[ "${SKIP_QUERY:-0}" = 1 ] || {
step "a query on the GPU and on the CPU"
work=$(mktemp -d)
/usr/bin/env python3 -c "import numpy as np; r = np.random.default_rng(1); [np.save('$work/' + n + '.npy', r.standard_normal((70000, 2, 64)).astype(np.float16)) for n in ('k', 'v')]; np.save('$work/q.npy', r.standard_normal((4, 8, 64)).astype(np.float32))" &&
"$cli" ingest --out "$work/store" --keys "$work/k.npy" --values "$work/v.npy" &&
for device in cuda cpu; do "$cli" query "$work/store" --q "$work/q.npy" --top-k 8 --device $device --show 3 --out "$work/o-$device.npy"; done &&
python3 -c "import numpy as np; a = np.load('$work/o-cuda.npy'); b = np.load('$work/o-cpu.npy'); print('query outputs, cuda vs cpu: max |diff|', float(np.abs(a - b).max()))"
rm -rf "$work"
}
step "bench decode --device cuda"
timeout "${DECODE_TIMEOUT:-300}" "$cli" bench decode --device cuda --no-cold --sizes "${DECODE_SIZES:-131072,1048576,4194304}" \
  --dir /tmp/landmark-bench-decode; echo "exit $?"
lengths=${PREFILL_LENGTHS-4096,16384,65536,131072}  # set empty to skip
if [ -n "$lengths" ]; then
  step "bench prefill --device cuda"
  timeout "${PREFILL_TIMEOUT:-300}" "$cli" bench prefill --device cuda --lengths "$lengths" \
    --patterns "${PREFILL_PATTERNS:-mixture}"; echo "exit $?"
fi
if [ -n "${DECODE_LARGE:-}" ]; then
  step "bench decode --device cuda, large stores"
  timeout "${DECODE_LARGE_TIMEOUT:-300}" "$cli" bench decode --device cuda --no-cold --no-headline \
    --sizes "$DECODE_LARGE" --dir /tmp/landmark-bench-decode --csv perf/results/decode-cuda-large.csv; echo "exit $?"
fi
step "done"
