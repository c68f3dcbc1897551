#!/usr/bin/python3
"""The desktop app in Python: ingest a folder of text into a store on disk,
then answer questions from stdin with the passages the engine picks.

    ask.py [--config PRESET] STORE [FOLDER...]
"""
import argparse
import os
import sys

import landmark


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="a preset (configs/*.toml)")
    parser.add_argument("store")
    parser.add_argument("folders", nargs="*")
    args = parser.parse_args()

    if args.folders:
        if os.path.exists(os.path.join(args.store, "manifest.json")):
            writer = landmark.StoreWriter.open(args.store)
        elif args.config:
            writer = landmark.StoreWriter.create_text(args.store, config=args.config)
        else:
            writer = landmark.StoreWriter.create_text(args.store, head_dim=256)

        def progress(p):
            if p["input_total"]:
                print(f"\ringesting: {100 * p['input_bytes'] / p['input_total']:3.0f}%  {p['tokens']} tokens",
                      end="", file=sys.stderr)

        with writer:  # commits and closes
            stats = writer.add_files(args.folders, progress=progress)
        print(f"\ningested {stats['tokens']} tokens from {stats['files']} files "
              f"({stats['skipped']} skipped: not text)", file=sys.stderr)

    with landmark.Store(args.store) as store:
        retriever = landmark.Retriever(store, top_k=8, config=args.config)
    print("ask a question (one per line, end with Ctrl-D):", file=sys.stderr)
    for line in sys.stdin:
        question = line.strip()
        if not question:
            continue
        best = retriever.ask(question).selections[0]
        print(f"Q: {question}")
        for weight, text in list(zip(best.weights, best.texts))[:3]:
            print(f"  [{weight:.2f}] {text.replace(chr(10), ' ')}")


if __name__ == "__main__":
    try:
        main()
    except landmark.Error as e:
        sys.exit(f"error: {e}")
