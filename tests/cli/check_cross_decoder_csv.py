#!/usr/bin/python3
"""Checks a `landmark bench cross-decoder` CSV: both stacks at every point,
the GMU stack reads less of the store, and its GMU layers read O(d_m) bytes."""
import csv
import sys

rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert rows, "no rows"
points = {(r["tokens"], r["batch"]) for r in rows}
for tokens, batch in points:
    by = {r["stack"]: r for r in rows if (r["tokens"], r["batch"]) == (tokens, batch)}
    assert set(by) == {"all-hsa", "gmu-alternate"}, by.keys()
    full, gmu = by["all-hsa"], by["gmu-alternate"]
    assert int(gmu["hsa_layers"]) * 2 == int(full["hsa_layers"]), (gmu["hsa_layers"], full["hsa_layers"])
    assert float(gmu["store_bytes"]) * 2 == float(full["store_bytes"]), (gmu["store_bytes"], full["store_bytes"])
    d_m_bytes = float(gmu["gmu_layer_io"])
    assert 0 < d_m_bytes < float(gmu["hsa_layer_io"]), (d_m_bytes, gmu["hsa_layer_io"])
    for r in (full, gmu):
        assert float(r["step_ms"]) > 0 and float(r["limit_ms"]) > 0 and float(r["read_gbps_all"]) > 0, r
print(f"{len(rows)} rows ok")
