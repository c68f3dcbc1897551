#!/usr/bin/env bash
# The README's second command (the tests) must be exactly what .ci/run runs.
set -eu
root=$1
readme_cmd=$(grep -m2 -E '^(sudo )?scripts/setup.sh' "$root/README.md" | sed -n 2p)
ci_cmd=$(grep -E '^(sudo )?scripts/setup.sh' "$root/.ci/run")
echo "README: $readme_cmd"
echo "CI:     $ci_cmd"
[ -n "$readme_cmd" ] && [ "$readme_cmd" = "$ci_cmd" ]
