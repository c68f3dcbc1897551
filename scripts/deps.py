#!/usr/bin/env python3
"""The module dependency map of landmark, from #include lines.

A module is a folder of src/ (src/store, src/kernels, ...), of apps/, or
perf/ and testing/; a public header include/landmark/X.h belongs to the module
that implements it (PUBLIC_HEADERS), so an edge A -> B means "a file of A
includes a header of B".

  scripts/deps.py                 # table: module, files, lines, depends on
  scripts/deps.py --mermaid       # a Mermaid graph (docs/architecture.md)
  scripts/deps.py --check         # exit 1 on a cycle, on src/ including apps/perf/testing,
                                  # or on a public header including an internal one
  scripts/deps.py --check-doc F   # exit 1 unless F's ```mermaid block is --mermaid's output

Runs with any python3 (standard library only).
"""
import argparse
import collections
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SOURCES = (".cc", ".h", ".cu", ".cuh")
LAYERS = ("src", "apps", "perf", "testing")  # what may include what: left to right
# The module that implements each public header (include/landmark/NAME.h),
# past and present names.
PUBLIC_HEADERS = {
    "config": "config", "cross_decoder": "gmu", "dense_attention": "kernels", "device": "backend",
    "dtype": "core", "encoder": "encoders", "error": "core", "gmu": "gmu", "ingest": "io",
    "kernels": "kernels", "kv_sequence": "kernels", "landmark": "capi", "layer_kind": "nn", "llm": "llm", "llm_store": "llm",
    "model": "model", "nn": "nn", "npy": "io", "prefill": "prefill", "probe": "probe",
    "retriever": "attention", "safetensors": "io", "shard": "shard", "store": "store",
    "tensor_file": "io", "text_index": "text", "tokenizer": "tokenizer", "version": "core",
}


def module_of(path):
    """'src/store/reader.cc' -> 'store'; 'apps/cli/x.cc' -> 'apps/cli'; 'perf/x.cc' -> 'perf'."""
    parts = path.split("/")
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    if parts[0] == "apps" and len(parts) > 2:
        return "apps/" + parts[1]
    if parts[0] in ("perf", "testing"):
        return parts[0]
    return None


def sources():
    for top in LAYERS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith(SOURCES):
                    full = os.path.join(dirpath, name)
                    yield os.path.relpath(full, ROOT), open(full, encoding="utf-8", errors="replace").read()


def build_graph():
    files = list(sources())
    header_module = {f"landmark/{name}.h": module for name, module in PUBLIC_HEADERS.items()}
    edges = collections.defaultdict(collections.Counter)
    stats = collections.defaultdict(lambda: [0, 0])
    for path, text in files:
        module = module_of(path)
        if module is None:
            continue
        stats[module][0] += 1
        stats[module][1] += text.count("\n")
        for inc in INCLUDE.findall(text):
            target = header_module.get(inc) if inc.startswith("landmark/") else module_of(inc)
            if target and target != module:
                edges[module][target] += 1
    return edges, stats


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def layer(module):
    return "src" if "/" not in module and module not in ("perf", "testing") else module.split("/")[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mermaid", action="store_true")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--check-doc", metavar="FILE")
    args = parser.parse_args()
    edges, stats = build_graph()
    graph = ["graph LR"] + [f"  {m.replace('/', '_')}[{m}] --> {t.replace('/', '_')}[{t}]"
                            for m in sorted(edges) for t in sorted(edges[m])]
    if args.mermaid:
        print("\n".join(graph))
        return 0
    if args.check_doc:
        text = open(args.check_doc, encoding="utf-8").read()
        block = re.search(r"```mermaid\n(.*?)```", text, re.S)
        if not block or block.group(1).strip() != "\n".join(graph).strip():
            print(f"{args.check_doc}: the module map is out of date; regenerate it with scripts/deps.py --mermaid")
            return 1
        print(f"{args.check_doc}: the module map is current")
        return 0
    if not args.check:
        print(f"{'module':<12} {'files':>5} {'lines':>6}  depends on (files including it)")
        for module in sorted(stats, key=lambda m: (LAYERS.index(layer(m)), m)):
            deps = ", ".join(f"{t}({n})" for t, n in sorted(edges[module].items()))
            print(f"{module:<12} {stats[module][0]:>5} {stats[module][1]:>6}  {deps}")
    problems = [f"cycle: {' <-> '.join(c)}" for c in cycles(edges)]
    for module, targets in edges.items():
        for target in targets:
            if layer(module) == "src" and layer(target) != "src":
                problems.append(f"library module {module} includes {target}")
    public = os.path.join(ROOT, "include", "landmark")
    for name in sorted(os.listdir(public)) if os.path.isdir(public) else []:
        for inc in INCLUDE.findall(open(os.path.join(public, name), encoding="utf-8").read()):
            if not inc.startswith("landmark/"):
                problems.append(f"public header include/landmark/{name} includes the internal {inc}")
    for p in problems:
        print(p)
    if not problems and not args.mermaid:
        print("no cycles; the library (src/) includes nothing from apps/, perf/ or testing/; "
              "public headers include only public headers")
    return 1 if (args.check and problems) else 0


if __name__ == "__main__":
    sys.exit(main())
