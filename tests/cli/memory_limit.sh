#!/usr/bin/env bash
# memory_limit.sh LANDMARK WORK: ingests and verifies a store 3× larger than
# a cgroup-v1 memory limit (64 MiB for the process, page cache included), and
# checks the store is byte-identical to one ingested without the limit.
# Exits 77 (ctest: skipped) where no writable memory cgroup exists.
set -u
landmark=$1 work=$2
cg=/sys/fs/cgroup/memory
if [ ! -w "$cg" ] || ! mkdir -p "$cg/landmark-test-$$" 2>/dev/null; then
  echo "skipped: no writable cgroup v1 memory controller at $cg"
  exit 77
fi
group=$cg/landmark-test-$$
cleanup() { rmdir "$group" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
rm -rf "$work" && mkdir -p "$work"
# 2 × 96 MiB of f16 keys/values: [49152, 8, 128].
/usr/bin/python3 -c "
import numpy as np
r = np.random.default_rng(3)
for name in ('k', 'v'):
    np.save('$work/' + name + '.npy', r.standard_normal((49152, 8, 128), dtype=np.float32).astype(np.float16))
" || exit 1
"$landmark" ingest --out "$work/free" --keys "$work/k.npy" --values "$work/v.npy" >/dev/null || exit 1
sync
echo 64M > "$group/memory.limit_in_bytes" || exit 1
(
  echo $BASHPID > "$group/cgroup.procs"
  "$landmark" ingest --out "$work/limited" --keys "$work/k.npy" --values "$work/v.npy" &&
    "$landmark" verify "$work/limited"
) || { echo "failed under the 64 MiB limit"; exit 1; }
peak=$(cat "$group/memory.max_usage_in_bytes")
echo "peak cgroup memory (RSS + page cache): $((peak >> 20)) MiB of a 64 MiB limit; store $(du -sm "$work/limited" | cut -f1) MiB"
for f in "$work"/free/kv-*.bin "$work/free/landmarks.bin"; do
  cmp "$f" "$work/limited/$(basename "$f")" || { echo "differs under the limit: $(basename "$f")"; exit 1; }
done
echo "identical to the store ingested without a limit"
