#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR WORK_DIR: `cmake --install` into a
# temporary prefix, then use what was installed as a newcomer would: build
# the C example with find_package(landmark) and with pkg-config, ask both a
# question, run the Python example from the installed package, the CLI.
set -euo pipefail
build=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

# CMake package: find_package(landmark) -> landmark::landmark.
cmake -S "$src/examples" -B "$work/example" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/example" >/dev/null
question="pass key for vault 204"
preset=$src/tests/data/configs/small-chunks.toml  # chunks small enough for the tiny documents
answer=$(echo "$question" | "$work/example/desktop_app" --config "$preset" "$work/store" "$src/tests/data/text" 2>"$work/ingest.log")
grep -q "ingested .* tokens from 2 files (1 skipped" "$work/ingest.log" || { cat "$work/ingest.log"; exit 1; }
grep -q "90177" <<<"$answer" || { echo "C example (CMake) did not find the answer:"; echo "$answer"; exit 1; }

# pkg-config, linked by hand as a Makefile would.
export PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name landmark.pc)")
cc -std=c99 -Wall -Wextra -o "$work/desktop_app_pc" "$src/examples/desktop_app.c" \
   $(pkg-config --cflags --libs landmark) -Wl,-rpath,"$(pkg-config --variable=libdir landmark)"
answer=$(echo "$question" | "$work/desktop_app_pc" --config "$preset" "$work/store" 2>/dev/null)
grep -q "90177" <<<"$answer" || { echo "C example (pkg-config) did not find the answer:"; echo "$answer"; exit 1; }

# The installed Python package finds the installed library by itself.
python_dir=$(dirname "$(find "$prefix" -path '*-packages/landmark' -type d)")
answer=$(echo "$question" | env -u LANDMARK_LIBRARY PYTHONPATH="$python_dir" /usr/bin/python3 \
         "$prefix/share/landmark/examples/ask.py" --config "$preset" \
         "$work/store-py" "$src/tests/data/text" 2>/dev/null)
grep -q "90177" <<<"$answer" || { echo "Python example did not find the answer:"; echo "$answer"; exit 1; }

"$prefix/bin/landmark" verify "$work/store" >/dev/null
echo "installed, built against (CMake and pkg-config) and used: ok"
