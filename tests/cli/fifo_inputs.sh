#!/usr/bin/env bash
# fifo_inputs.sh LANDMARK WORK MODEL: issue 15 item 2 through the CLI. FIFOs
# among the ingest inputs (given directly or found in a folder) are skipped
# with a warning, refused with --strict, never waited on; a store file
# replaced by a FIFO is refused at once by info, verify, query and ingest.
# Every command runs under `timeout`: a hang fails the test.
set -u
landmark=$1 work=$2 model=$3
fail() { echo "FAILED: $*"; exit 1; }
run() { timeout 30 "$landmark" "$@"; }
rm -rf "$work" && mkdir -p "$work/docs" || exit 1
echo "The pass key for vault 7 is 12345. The river is quiet." > "$work/docs/a.txt"
mkfifo "$work/docs/pipe" "$work/pipe" "$work/k.npy" || fail "mkfifo"

out=$(run ingest --out "$work/text" --chunk-size 4 --head-dim 32 "$work/pipe" "$work/docs" 2>&1) || fail "ingest: $out"
grep -q "pipe: is a FIFO, not a regular file; skipped" <<<"$out" || fail "no warning for the FIFOs: $out"
grep -q "ingested .* tokens from 1 files (2 skipped)" <<<"$out" || fail "ingest: $out"

out=$(run ingest --out "$work/strict" --strict "$work/docs" 2>&1)
status=$?
[ $status -eq 1 ] || fail "--strict: exit $status: $out"
grep -q "pipe: is a FIFO, not a regular file (strict: " <<<"$out" || fail "--strict: $out"

out=$(run ingest --model "$model" --out "$work/model" "$work/pipe" "$work/docs/a.txt" 2>&1) || fail "ingest --model: $out"
grep -q "warning: skipping .*pipe: is a FIFO" <<<"$out" || fail "ingest --model: $out"

out=$(run ingest --out "$work/tensors" --keys "$work/k.npy" --values "$work/k.npy" 2>&1)
status=$?
[ $status -eq 1 ] || fail "--keys FIFO: exit $status: $out"
grep -q "k.npy: is a FIFO, not a regular file" <<<"$out" || fail "--keys FIFO: $out"

refused() {  # refused FILE COMMAND...: exit 1 naming FILE as a FIFO
  local file=$1
  shift
  out=$(run "$@" 2>&1)
  status=$?
  [ $status -eq 1 ] || fail "$* with $file a FIFO: exit $status: $out"
  grep -q "$file: is a FIFO, not a regular file" <<<"$out" || fail "$* with $file a FIFO: $out"
}
damaged=$work/damaged
for file in manifest.json landmarks.bin kv-000000.bin text.bin; do
  cp -r "$work/text" "$damaged" && rm "$damaged/$file" && mkfifo "$damaged/$file" || fail "setup"
  [ $file = manifest.json ] && refused $file info "$damaged"  # info reads only the manifest
  refused $file verify "$damaged"
  refused $file query "$damaged" --text vault
  refused $file ingest --out "$damaged" "$work/docs/a.txt"
  rm -rf "$damaged"
done
echo "FIFOs refused or skipped, never waited on"
