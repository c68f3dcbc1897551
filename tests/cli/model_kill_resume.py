#!/usr/bin/env python3
"""Issue 15 item 8 through the CLI: `landmark ingest --model` SIGKILLed at
random instants. After every kill the store verifies and `ask` answers (as of
its last commit); running the same command again resumes the interrupted
ingest; the end result equals an uninterrupted ingest byte for byte.

usage: model_kill_resume.py LANDMARK MODEL WORK_DIR"""
import json
import os
import random
import shutil
import subprocess
import sys
import time

landmark, model, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
rng = random.Random(15)
inputs = []
for i in range(2):
    path = os.path.join(work, f"doc{i}.txt")
    with open(path, "w") as f:
        while f.tell() < 12000:
            f.write(f"The pass key for vault {rng.randrange(1000)} is {rng.randrange(10**5):05d}. ")
    inputs.append(path)


def ingest(store):
    return ["ingest", "--model", model, "--out", store, "--commit-every", "16", *inputs]


def run(*args, check=True):
    r = subprocess.run([landmark, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"landmark {' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


reference = os.path.join(work, "reference")
start = time.monotonic()
run(*ingest(reference))
duration = time.monotonic() - start

def committed(store):
    """Tokens of the store's last commit (0 before it exists)."""
    try:
        with open(os.path.join(store, "manifest.json")) as f:
            m = json.load(f)
        return m["chunks"] * m["shape"]["chunk_size"] + m["tail_tokens"]
    except (OSError, ValueError, KeyError):
        return 0


# Each round runs the ingest until it has committed something new, lets it
# go on for a random while (into the next segment's compute, write or
# commit) and kills it; the next round resumes.
store = os.path.join(work, "killed")
segment_seconds = duration / (committed(reference) / 4096 + 1)  # the CLI's segments are 4096 bytes


def kill_rounds():
    """Kills and resumes until the ingest finishes; returns (kills, resumes)."""
    kills = resumes = 0
    for round in range(20):
        before = committed(store)
        p = subprocess.Popen([landmark, *ingest(store)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while p.poll() is None and committed(store) <= before:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.8) * segment_seconds)
        p.kill()
        out, err = p.communicate()
        if "resuming an interrupted ingest" in err:
            resumes += 1
        if p.returncode == 0:
            break  # it finished before the kill
        if p.returncode != -9:
            sys.exit(f"round {round}: exit {p.returncode}:\n{out}{err}")
        kills += 1
        run("verify", store)
        answer = run("ask", store, "pass key for vault 7", "--model", model)
        print(f"round {round}: killed; the store verifies, holds {committed(store)} tokens, answers {answer.stdout.strip()!r}")
    else:
        run(*ingest(store))  # the rest
    return kills, resumes


# A loaded machine can finish the ingest between kills: start over (the
# timing is random, the checks are not).
for attempt in range(5):
    shutil.rmtree(store, ignore_errors=True)
    kills, resumes = kill_rounds()
    if kills >= 3 and resumes >= 2:
        break
    print(f"attempt {attempt}: only {kills} kills, {resumes} resumes before the ingest finished; again")
else:
    sys.exit(f"too few kills ({kills}) or resumes ({resumes}) to mean anything; ingest took {duration:.2f} s")


def data(store):
    files = {}
    for name in sorted(os.listdir(store)):
        key = name.split("-")[0] if name.startswith("tail-") else name.split(".")[0] if name.startswith("att-") else name
        if name.endswith(".bin"):
            with open(os.path.join(store, name), "rb") as f:
                files[key] = f.read()
    return files


got, want = data(store), data(reference)
if got.keys() != want.keys():
    sys.exit(f"files differ: {sorted(got)} vs {sorted(want)}")
for name in want:
    if got[name] != want[name]:
        sys.exit(f"{name} differs from the uninterrupted ingest")
run("verify", store)
print(f"{kills} kills, {resumes} resumes: the same store as an uninterrupted ingest")
