#!/usr/bin/env bash
# unprivileged.sh LANDMARK WORK MODEL: issue 15 item 12 as a user without
# privileges (root, which reads everything, re-runs this as nobody; skipped,
# exit 77, where that is not possible). An unreadable store or manifest is
# reported as permission denied, not "not a landmark store"; `--model
# default` passes over a place it may not search and finds the next one.
set -u
landmark=$1 work=$2 model=$3
fail() { echo "FAILED: $*"; exit 1; }
if [ "$(id -u)" = 0 ]; then
  command -v setpriv >/dev/null || { echo "skipped: no setpriv to drop root"; exit 77; }
  rm -rf "$work" && mkdir -p "$work" && chmod 777 "$work" || exit 1
  exec setpriv --reuid=65534 --regid=65534 --clear-groups env -u LANDMARK_MODEL HOME="$work" "$0" "$@"
fi
[ -w "$work" ] || { rm -rf "$work" && mkdir -p "$work"; } || exit 1
mkdir -p "$work/docs" && echo "The pass key for vault 7 is 12345." > "$work/docs/a.txt" || fail "setup"
"$landmark" ingest --out "$work/store" --chunk-size 4 --head-dim 32 "$work/docs" >/dev/null 2>&1 || fail "ingest"

expect() {  # expect PATTERN COMMAND...: exit 1, stderr matching PATTERN
  local pattern=$1
  shift
  out=$("$@" 2>&1)
  status=$?
  [ $status -eq 1 ] || fail "$*: exit $status: $out"
  grep -qE -- "$pattern" <<<"$out" || fail "$*: '$out' does not match '$pattern'"
}
chmod 000 "$work/store/manifest.json"
expect "manifest.json: cannot open: Permission denied" "$landmark" info "$work/store"
expect "manifest.json: cannot open: Permission denied" "$landmark" verify "$work/store"
chmod 644 "$work/store/manifest.json" && chmod 000 "$work/store/landmarks.bin"
expect "landmarks.bin: cannot open: Permission denied" "$landmark" query "$work/store" --text vault
chmod 644 "$work/store/landmarks.bin" && chmod 000 "$work/store"
expect "store.*Permission denied" "$landmark" info "$work/store"
chmod 755 "$work/store"
"$landmark" verify "$work/store" >/dev/null || fail "verify after chmod back"

# --model default: the first place searched (bin/../../models) may not be
# searched by this user; the installed one (bin/../share/landmark/models) is used.
mkdir -p "$work/app/bin" "$work/app/share/landmark/models" "$work/models" || fail "setup"
cp "$landmark" "$work/app/bin/landmark" && cp "$model" "$work/app/share/landmark/models/default.safetensors" || fail "setup"
chmod 000 "$work/models"
out=$("$work/app/bin/landmark" model info default 2>&1) || fail "model info default: $out"
grep -q "share/landmark/models/default.safetensors" <<<"$out" || fail "model info default: $out"
chmod 755 "$work/models"
echo "permission problems named as such"
