"""Collect the filler corpora from Debian's own text, split by whole files.

Runs on a Debian machine (not the GPU box, which lacks these files):
    python3 train/make_filler.py
writes
    train/data/filler.txt.gz    training filler
    train/data/heldout.txt.gz   evaluation filler: whole source files that
                                training never sees (no paragraph of it occurs
                                in the training filler or in the earlier,
                                licence-only filler the first model saw)
    train/data/filler-files.txt which file went where ("train PATH" / "heldout PATH")
Sources, interleaved file by file in a seeded order: licences and copyright
files, Debian changelogs, READMEs/NEWS of /usr/share/doc, man pages (troff
markup stripped) and info manuals. A file is held out when sha1(path) says so
(about 1 in 8), whatever its kind. Paragraphs are deduplicated (many copyright
files repeat the same licence), bytes >= 128 become '?', and every run of
whitespace (newlines included) becomes one space, so the text never contains
the stop byte '\\n'. Paragraphs naming the task's words (pass key, vault) are
dropped.
"""
import glob
import gzip
import hashlib
import os
import random
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
# bytes of text per kind, training / held out: a few MB keeps the repository small
KINDS = {
    "licence": (1_800_000, 250_000),
    "changelog": (2_400_000, 350_000),
    "readme": (1_400_000, 200_000),
    "man": (1_400_000, 200_000),
    "info": (1_000_000, 150_000),
}
HELDOUT_EVERY = 8


def sources():
    doc = "/usr/share/doc"
    out = {
        "licence": sorted(glob.glob("/usr/share/common-licenses/*")) + sorted(glob.glob(f"{doc}/*/copyright")),
        "changelog": sorted(glob.glob(f"{doc}/*/changelog.Debian.gz") + glob.glob(f"{doc}/*/changelog.gz")),
        "readme": sorted(p for p in glob.glob(f"{doc}/*/README*") + glob.glob(f"{doc}/*/NEWS*")
                         if not p.endswith((".html", ".pdf", ".png"))),
        "man": sorted(glob.glob("/usr/share/man/man[1-8]/*.gz")),
        "info": sorted(p for p in glob.glob("/usr/share/info/*.gz")),
    }
    return out


def read(path):
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read(2_000_000)
        with open(path, "rb") as f:
            return f.read(2_000_000)
    except (OSError, EOFError, gzip.BadGzipFile):
        return b""


def strip_troff(text):
    lines = []
    for line in text.split("\n"):
        if line.startswith((".\\\"", "'\\\"")):
            continue
        if line.startswith((".", "'")):
            # macro lines: keep the arguments of text macros (.B word, .SH NAME)
            m = re.match(r"^[.'](SH|SS|B|I|BR|IR|RB|BI|IB|RI|TP|IP|Nm|Nd|Sh|Ar|Fl)\b\s*(.*)$", line)
            if not m:
                if line.strip() in (".PP", ".P", ".LP", ".sp", ".Pp"):
                    lines.append("")
                continue
            line = m.group(2).replace('"', "")
        lines.append(line)
    text = "\n".join(lines)
    text = re.sub(r"\\f[BIRP]|\\f\(..|\\f\[[A-Z]*\]", "", text)
    text = re.sub(r"\\\(..|\\\[[a-z]+\]", "-", text)
    text = text.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\").replace("\\ ", " ")
    return text


def paragraphs(path, kind):
    raw = read(path)
    text = bytes(b if b < 128 else 63 for b in raw).decode("ascii")
    if kind == "man":
        text = strip_troff(text)
    if kind == "info":
        text = text.replace("\x1f", "\n\n")
    return re.split(r"\n\s*\n", text)


def clean(para):
    para = " ".join(para.split())
    low = para.lower()
    if len(para) < 40 or "pass key" in low or "passkey" in low or "vault" in low:
        return None
    return para


def main():
    old = set()
    old_path = os.path.join(DATA, "filler.txt.gz")
    # the licence-only filler of the first model (git history): none of it may be held out
    try:
        blob = subprocess.run(["git", "-C", HERE, "show", "263a30f:train/data/filler.txt.gz"],
                              capture_output=True, check=True).stdout
        old_text = gzip.decompress(blob).decode("ascii")
    except (subprocess.CalledProcessError, OSError):
        old_text = gzip.open(old_path, "rb").read().decode("ascii") if os.path.exists(old_path) else ""
    # the old file joined paragraphs with ' ': compare by 200-byte shingles
    for i in range(0, max(0, len(old_text) - 200), 50):
        old.add(hashlib.sha1(old_text[i:i + 200].encode()).digest()[:8])

    def seen_before(para):
        return any(hashlib.sha1(para[i:i + 200].encode()).digest()[:8] in old
                   for i in range(0, max(1, len(para) - 200), 50)) if len(para) >= 200 else False

    files = []
    for kind, paths in sources().items():
        for p in paths:
            if os.path.isfile(p):
                held = int(hashlib.sha1(p.encode()).hexdigest(), 16) % HELDOUT_EVERY == 0
                files.append((kind, p, held))
    random.Random(2026).shuffle(files)
    # training first, so that held-out paragraphs also seen in a training file are dropped
    seen = set()
    text = {"train": [], "heldout": []}
    size = {(k, s): 0 for k in KINDS for s in ("train", "heldout")}
    used = []
    for split in ("train", "heldout"):
        for kind, path, held in files:
            if held != (split == "heldout"):
                continue
            cap = KINDS[kind][0 if split == "train" else 1]
            if size[kind, split] >= cap:
                continue
            took = 0
            for para in paragraphs(path, kind):
                para = clean(para)
                if para is None:
                    continue
                digest = hashlib.sha1(para.encode()).digest()
                if digest in seen:
                    continue
                seen.add(digest)
                if split == "heldout" and seen_before(para):
                    continue
                text[split].append(para)
                took += len(para) + 1
                if size[kind, split] + took >= cap + 20_000:
                    break
            if took:
                size[kind, split] += took
                used.append(f"{split} {kind} {path}")
    for split, name in (("train", "filler.txt.gz"), ("heldout", "heldout.txt.gz")):
        body = " ".join(text[split])
        with gzip.GzipFile(os.path.join(DATA, name), "wb", compresslevel=9, mtime=0) as f:
            f.write(body.encode("ascii"))
        print(f"{name}: {len(body)} bytes, " + ", ".join(f"{k} {size[k, split]}" for k in KINDS))
    with open(os.path.join(DATA, "filler-files.txt"), "w") as f:
        f.write("\n".join(used) + "\n")
    print(f"{len(used)} files used of {len(files)}")


if __name__ == "__main__":
    main()
