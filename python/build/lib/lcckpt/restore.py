"""Restoring a job's step into PyTorch: model and optimizer state dicts, read from the checkpoint topic."""
import json
import os
import struct
import tempfile

import torch

from . import _jvm
from .errors import LcckptError
from .state import TORCH_DTYPES, split_state

#: safetensors dtype tags -> torch dtypes
SAFETENSORS = {"F32": torch.float32, "F64": torch.float64, "BF16": torch.bfloat16, "F16": torch.float16, "I8": torch.int8,
               "I16": torch.int16, "I32": torch.int32, "I64": torch.int64, "U8": torch.uint8, "BOOL": torch.bool}


def read_safetensors(path):
    """{name: tensor} of a safetensors file (8-byte little-endian header length, JSON header, data); torch 1.13 has
    no reader of its own."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + length])
    base = 8 + length
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        dtype = SAFETENSORS[entry["dtype"]]
        raw = bytearray(data[base + start:base + end])
        tensor = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = tensor.reshape(entry["shape"])
    return tensors


def restore(job, step=None, generation=None, tensors=None, bootstrap_servers=None, config=None, jar=None, **settings):
    """Rebuilds step ``step`` of job ``job`` (default: its latest restorable step; ``generation``: of that generation)
    and returns ``(model_state_dict, optimizer_state_dict or None, info)``. ``tensors``: only these names (model keys
    as the model names them; the restore still reads the whole step). ``info`` is the restore's summary: job,
    generation, step, what it read, and each tensor's dtype, coding and XXH64."""
    settings_map = _jvm.kafka_config(bootstrap_servers, config, **settings)
    directory = tempfile.mkdtemp(prefix="lcckpt-restore-")
    out = os.path.join(directory, "state.safetensors")
    args = ["restore", "--job", job, "--out", out]
    if step is not None:
        args += ["--step", str(int(step))]
    if generation is not None:
        args += ["--generation", str(int(generation))]
    try:
        _jvm.run_command(args, settings_map, jar=jar)
        named = read_safetensors(out)
        with open(out + ".json", "r", encoding="utf-8") as f:
            info = json.load(f)
    finally:
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
    model_state, optimizer_state = split_state(named)
    if tensors is not None:
        wanted = set(tensors)
        missing = wanted - set(model_state)
        if missing:
            raise LcckptError("job %s, step %s: no tensor %s in the checkpoint" % (job, info["step"], ", ".join(sorted(missing))))
        model_state = {key: value for key, value in model_state.items() if key in wanted}
    return model_state, optimizer_state, info


def load_into(model, optimizer=None, job=None, step=None, generation=None, **kwargs):
    """Restores a step into ``model`` (``load_state_dict(strict=True)``) and ``optimizer``; returns the restore's info
    (its ``step`` is where training goes on: ``Checkpointer.resume(info["step"])``)."""
    model_state, optimizer_state, info = restore(job, step=step, generation=generation, **kwargs)
    model.load_state_dict(model_state, strict=True)
    if optimizer is not None:
        if optimizer_state is None:
            raise LcckptError("job %s, step %s: the checkpoint holds no optimizer state (it was published without one)" % (job, info["step"]))
        optimizer.load_state_dict(optimizer_state)
    return info


def steps(job, bootstrap_servers=None, config=None, jar=None, **settings):
    """The job's restorable steps: [{"generation", "step", "superstep", "codedBytes", "rawBytes"}], oldest first."""
    output = _jvm.run_command(["steps", "--job", job, "--json"], _jvm.kafka_config(bootstrap_servers, config, **settings), jar=jar)
    return json.loads(output)
