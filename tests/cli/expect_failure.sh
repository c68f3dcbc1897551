#!/usr/bin/env bash
# expect_failure.sh PATTERN COMMAND...: passes when COMMAND exits non-zero and
# its stderr matches PATTERN (an extended regex) — a clear error, not a crash.
set -u
pattern=$1
shift
stderr=$("$@" 2>&1 >/dev/null)
status=$?
if [ $status -eq 0 ]; then
  echo "expected failure, got exit 0: $*"
  exit 1
fi
if [ $status -ge 128 ]; then
  echo "crashed (signal $((status - 128))): $*"
  exit 1
fi
if ! grep -qE -- "$pattern" <<<"$stderr"; then
  echo "stderr does not match '$pattern':"
  echo "$stderr"
  exit 1
fi
echo "failed as expected (exit $status): $stderr"
