#!/usr/bin/env bash
# help_check.sh CLI: every command's --help is clean (issue 16 item 5): no
# CLI11 "{false}" after a flag, and the options a command cannot run without
# are marked REQUIRED (also those a --config preset may give).
set -u
cli=$1
status=0
while read -r words; do
  # shellcheck disable=SC2086
  help=$("$cli" $words --help 2>&1) || { echo "landmark $words --help failed"; status=1; continue; }
  if grep -qE '\{(false|true)\}' <<<"$help"; then
    echo "landmark $words --help shows a flag's {false}/{true}:"; grep -E '\{(false|true)\}' <<<"$help"; status=1
  fi
done <<'COMMANDS'
ingest
info
verify
query
ask
demo
prefill
generate
gmu init-weights
gmu run
model info
model random
bench probe
bench kernels
bench prefill
bench ingest
bench decode
bench sharded
bench model
bench llm
bench cross-decoder
COMMANDS
for required in "prefill|--policy" "prefill|--out" "ingest|--out" "gmu run|--weights" "query|store"; do
  words=${required%%|*}
  option=${required#*|}
  # shellcheck disable=SC2086
  if ! "$cli" $words --help | grep -E -- "^ +$option .*REQUIRED" >/dev/null; then
    echo "landmark $words --help does not mark $option REQUIRED"; status=1
  fi
done
[ $status -eq 0 ] && echo "help is clean: no {false}, required options marked"
exit $status
