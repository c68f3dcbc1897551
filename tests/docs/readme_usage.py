#!/usr/bin/python3
"""Follows a section of the README (or of a page under docs/) verbatim, as a
newcomer would.

    readme_usage.py README SECTION BUILD_DIR WORK_DIR

Runs the section's ```sh blocks in order (one bash script, from the
repository root, HOME = WORK_DIR/home), writing each ```c or ```python block
to the file the paragraph before it names (`hello.c`), and checks that
every line of each ```text block appears in the output. Two substitutions
only: `scripts/setup.sh` is skipped (the test runs on a finished build) and
`cmake --install build` installs from BUILD_DIR.
"""
import os
import re
import shutil
import subprocess
import sys


def blocks(readme, section):
    text = "\n" + open(readme, encoding="utf-8").read()
    heading = re.search(rf"\n(#+) {re.escape(section)}\n", text)
    if not heading:
        sys.exit(f"{readme}: no section '{section}'")
    start, level = heading.start(), len(heading.group(1))
    # The section ends at the next heading of its level or above.
    following = re.compile(rf"\n#{{1,{level}}} ").search(text, heading.end())
    body = text[start:following.start() if following else len(text)]
    # (language, code, the prose just before the block)
    pattern = re.compile(r"((?:[^\n]*\n)*?)```(\w+)\n(.*?)```\n", re.S)
    found = []
    for m in pattern.finditer(body):
        found.append((m.group(2), m.group(3), m.group(1)))
    return found


def main():
    readme, section, build, work = sys.argv[1:5]
    # The repository root: the README's folder or the one above docs/.
    root = os.path.dirname(os.path.abspath(readme))
    while not os.path.exists(os.path.join(root, "CMakeLists.txt")) and root != "/":
        root = os.path.dirname(root)
    shutil.rmtree(work, ignore_errors=True)
    home = os.path.join(work, "home")
    os.makedirs(home)
    script, expected = ["set -euo pipefail"], []
    for language, code, prose in blocks(readme, section):
        if language == "sh":
            for line in code.splitlines():
                if line.startswith("scripts/setup.sh"):
                    continue
                script.append(line.replace("cmake --install build ", f"cmake --install {build} "))
        elif language in ("c", "python"):
            names = re.findall(r"`([\w.-]+\.(?:c|py))`", prose)
            if not names:
                sys.exit(f"no file name (`name.c`) before a {language} block in '{section}'")
            script.append(f"cat > {names[-1]} <<'LANDMARK_README_EOF'\n{code}LANDMARK_README_EOF")
        elif language == "text":
            expected += [line for line in code.splitlines() if line.strip()]
    env = dict(os.environ, HOME=home)
    env.pop("LANDMARK_LIBRARY", None)
    env.pop("PYTHONPATH", None)
    run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=root, env=env, capture_output=True, text=True)
    print(run.stdout)
    print(run.stderr, file=sys.stderr)
    if run.returncode != 0:
        sys.exit(f"'{section}' failed with exit status {run.returncode}")
    missing = [line for line in expected if line not in run.stdout]
    if missing:
        sys.exit(f"'{section}': the output lacks the README's lines: {missing}")
    print(f"README '{section}' followed verbatim: ok")


if __name__ == "__main__":
    main()
