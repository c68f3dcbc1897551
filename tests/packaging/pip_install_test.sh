#!/usr/bin/env bash
# pip_install_test.sh SOURCE_DIR LIBRARY WORK_DIR: `pip install ./python`
# offline (no index, no build isolation: Debian's setuptools and wheel), into
# a target directory, then the installed package imported from there with
# the library the build made. A copy of python/ is installed so the build
# leaves nothing in the source tree. Skipped (77) without pip.
set -euo pipefail
src=$1 library=$2 work=$3
/usr/bin/python3 -m pip --version >/dev/null 2>&1 || { echo "pip is not installed (python3-pip)"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
cp -r "$src/python" "$work/python"
rm -rf "$work/python/landmark/__pycache__"
/usr/bin/python3 -m pip install --no-index --no-build-isolation --no-deps --quiet --target "$work/site" "$work/python"
test -f "$work/site/landmark/__init__.py"
ls -d "$work"/site/landmark-*.dist-info >/dev/null
cd "$work"
LANDMARK_LIBRARY=$library PYTHONPATH=$work/site /usr/bin/python3 -c "
import landmark, os
assert os.path.dirname(landmark.__file__) == os.path.join('$work', 'site', 'landmark'), landmark.__file__
print('imported', landmark.__version__, 'from', landmark.__file__, 'tasks:', landmark.MODEL_TASK[:20])
"
echo "pip install ./python offline: ok"
