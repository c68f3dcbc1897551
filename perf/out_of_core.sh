#!/usr/bin/env bash
# perf/out_of_core.sh LANDMARK [TOKENS] [LIMIT] [WORK]
#
# Out-of-core check of the retrieval engine: builds a planted-needle store of
# TOKENS tokens (default 16M: 8 GiB of f16 K/V, one kv head, d 128) with
# `landmark bench decode --keep`, queries it with its needle queries once
# freely and once from a process in a cgroup-v1 memory group of LIMIT
# (default 1G, page cache included), and checks that both outputs are
# byte-identical. Prints the timings and the group's peak memory.
# Exits 77 (ctest: skipped) without a writable memory cgroup (needs root).
set -u
landmark=${1:?usage: perf/out_of_core.sh LANDMARK [TOKENS] [LIMIT] [WORK]}
tokens=${2:-16777216} limit=${3:-1G} work=${4:-/tmp/landmark-out-of-core}
cg=/sys/fs/cgroup/memory
group=$cg/landmark-ooc-$$
if [ ! -w "$cg" ] || ! mkdir "$group" 2>/dev/null; then
  echo "skipped: no writable cgroup v1 memory controller at $cg (run as root)"
  exit 77
fi
trap 'rmdir "$group" 2>/dev/null' EXIT
store=$work/n$tokens
if [ ! -f "$store/needle-queries.npy" ]; then
  echo "building a $tokens-token store in $store ..."
  "$landmark" bench decode --sizes "$tokens" --no-headline --no-cold --keep --dir "$work" --csv "" >/dev/null || exit 1
fi
"$landmark" verify "$store" || exit 1
queries=$store/needle-queries.npy
ms() { echo $(( $(date +%s%N) / 1000000 )); }
start=$(ms)
"$landmark" query "$store" --q "$queries" --out "$work/free.npy" >/dev/null || exit 1
free_ms=$(( $(ms) - start ))
sync
echo 3 > /proc/sys/vm/drop_caches 2>/dev/null
echo "$limit" > "$group/memory.limit_in_bytes" || exit 1
start=$(ms)
(
  echo $BASHPID > "$group/cgroup.procs"
  exec "$landmark" query "$store" --q "$queries" --out "$work/limited.npy"
) > "$work/limited.txt" || { echo "the query failed under the $limit limit"; cat "$work/limited.txt"; exit 1; }
limited_ms=$(( $(ms) - start ))
peak=$(cat "$group/memory.max_usage_in_bytes")
store_mib=$(du -sm "$store" | cut -f1)
echo "store: $tokens tokens, $store_mib MiB on disk; memory limit $limit"
echo "whole command, free: ${free_ms} ms; under the limit, cold cache: ${limited_ms} ms; peak group memory $((peak >> 20)) MiB"
cmp "$work/free.npy" "$work/limited.npy" || { echo "outputs differ under the memory limit"; exit 1; }
grep -m3 -E "^  [0-9]" "$work/limited.txt" | head -3
echo "identical outputs with and without the memory limit"
