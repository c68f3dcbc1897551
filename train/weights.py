"""Read and write the model's .safetensors file (layout: docs/model.md).

A small writer of our own (the format is an 8-byte header length, a JSON
header, then raw little-endian tensors), so the same code runs with any
torch, with or without the safetensors package.
"""
import json
import struct

import numpy as np
import torch

from model import ByteModel, Config, tensor_names

DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16"}
META_KEY = "landmark.model"


def save_tensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in blobs:
            f.write(raw)


def load_tensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        if info["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(data[b:e], dtype=np.int16).copy()).view(torch.bfloat16)
        elif info["dtype"] == "F32":
            t = torch.from_numpy(np.frombuffer(data[b:e], dtype=np.float32).copy())
        else:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        out[name] = t.reshape(info["shape"])
    return out, meta


def export(model, path, dtype=torch.bfloat16):
    names = tensor_names(model)
    params = dict(model.named_parameters())
    tensors = {doc: params[p].detach().to(torch.float32).to(dtype) for doc, p in names.items()}
    save_tensors(path, tensors, {META_KEY: model.cfg.to_json()})


def load_model(path, device="cpu"):
    tensors, meta = load_tensors(path)
    if META_KEY not in meta:
        raise ValueError(f"{path}: metadata key {META_KEY} missing")
    model = ByteModel(Config.from_json(meta[META_KEY]))
    names = tensor_names(model)
    missing = set(names) - set(tensors)
    if missing:
        raise ValueError(f"{path}: tensors missing: {sorted(missing)}")
    params = dict(model.named_parameters())
    with torch.no_grad():
        for doc, p in names.items():
            if tuple(tensors[doc].shape) != tuple(params[p].shape):
                raise ValueError(f"{path}: {doc} has shape {list(tensors[doc].shape)}")
            params[p].copy_(tensors[doc].float())
    return model.to(device)
