#!/usr/bin/env bash
# damage_store.sh LANDMARK STORE WORK: copies STORE to WORK, flips one bit in
# its first kv segment, and expects `landmark verify` to fail naming it.
set -u
landmark=$1 store=$2 work=$3
rm -rf "$work" && cp -r "$store" "$work" || exit 1
printf '\x55' | dd of="$work/kv-000000.bin" bs=1 seek=100 conv=notrunc status=none || exit 1
"$landmark" verify "$work" && { echo "verify passed a damaged store"; exit 1; }
"$landmark" verify "$work" 2>&1 | grep -q "kv-000000.bin: checksum mismatch" || { echo "no checksum message"; exit 1; }
echo "verify reported the damage"
