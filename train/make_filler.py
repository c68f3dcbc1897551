"""Collect the filler corpus from Debian's own documentation text.

Runs on a Debian machine (not the GPU box, which lacks these files):
    python3 train/make_filler.py  ->  train/data/filler.txt.gz
Paragraphs are deduplicated (many copyright files repeat the same licence),
bytes >= 128 become '?', and every run of whitespace (newlines included)
becomes one space, so the text never contains the stop byte '\\n'.
"""
import glob
import gzip
import hashlib
import os
import re

LIMIT = 4_000_000  # bytes of text: a few MB keeps the repository small


def paragraphs(path):
    try:
        raw = open(path, "rb").read()
    except OSError:
        return []
    text = bytes(b if b < 128 else 63 for b in raw).decode("ascii")
    return re.split(r"\n\s*\n", text)


def main():
    files = sorted(glob.glob("/usr/share/common-licenses/*"))
    files += sorted(glob.glob("/usr/share/doc/*/copyright"))
    seen, out, size = set(), [], 0
    for path in files:
        if not os.path.isfile(path):
            continue
        for para in paragraphs(path):
            para = " ".join(para.split())
            if len(para) < 40 or "pass key" in para.lower():
                continue
            digest = hashlib.sha1(para.encode()).digest()
            if digest in seen:
                continue
            seen.add(digest)
            out.append(para)
            size += len(para) + 1
        if size >= LIMIT:
            break
    text = " ".join(out)[:LIMIT]
    dest = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "filler.txt.gz")
    with gzip.GzipFile(dest, "wb", compresslevel=9, mtime=0) as f:
        f.write(text.encode("ascii"))
    print(f"{len(text)} bytes from {len(files)} files -> {dest}")


if __name__ == "__main__":
    main()
