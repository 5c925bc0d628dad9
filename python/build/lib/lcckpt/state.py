"""A training state as named tensors, and back: what the checkpoint topic holds for a PyTorch model and optimizer.

Names: ``model.<state_dict key>`` for the model; ``optimizer.state.<param index>.<key>`` for each optimizer state
tensor (Adam's ``exp_avg``, ``exp_avg_sq``, ``step``); ``optimizer.param_groups`` for the optimizer's hyperparameters
and any non-tensor state, as UTF-8 JSON in a fixed-size uint8 tensor (stored exactly: a few dozen bytes a step while it
does not change).
"""
import json

import torch

from .errors import LcckptError

#: torch dtype -> the schemas' DType
DTYPES = {
    torch.float32: "FLOAT32", torch.float64: "FLOAT64", torch.bfloat16: "BFLOAT16", torch.float16: "FLOAT16",
    torch.int8: "INT8", torch.int16: "INT16", torch.int32: "INT32", torch.int64: "INT64", torch.uint8: "UINT8",
    torch.bool: "BOOL",
}
TORCH_DTYPES = {name: dtype for dtype, name in DTYPES.items()}
PARAM_GROUPS = "optimizer.param_groups"


def _plain(value):
    """A JSON-able copy of an optimizer's hyperparameters (a tensor lr becomes its number)."""
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def optimizer_extra(state_dict):
    """The optimizer's non-tensor part (of its ``state_dict()``): param_groups and non-tensor state entries, as JSON bytes."""
    extra = {}
    for index, entries in state_dict["state"].items():
        for key, value in entries.items():
            if not isinstance(value, torch.Tensor):
                extra.setdefault(str(index), {})[key] = _plain(value)
    return json.dumps({"param_groups": _plain(state_dict["param_groups"]), "state": extra}, sort_keys=True).encode("utf-8")


def named_tensors(model=None, optimizer=None, capacity=None):
    """The state as {name: tensor} (in a stable order), and the capacity used for the optimizer's JSON."""
    tensors = {}
    if model is not None:
        for key, value in model.state_dict().items():
            tensors["model." + key] = value
    if optimizer is not None:
        state_dict = optimizer.state_dict()
        for index, entries in sorted(state_dict["state"].items()):
            for key, value in entries.items():
                if isinstance(value, torch.Tensor):
                    tensors["optimizer.state.%d.%s" % (index, key)] = value
        extra = optimizer_extra(state_dict)
        if capacity is None:
            capacity = max(1024, 2 * len(extra) + 256)
        if len(extra) > capacity:
            raise LcckptError("tensor %s: the optimizer's hyperparameters take %d bytes of JSON, more than the %d the first step"
                              " registered (a new Checkpointer starts a new layout)" % (PARAM_GROUPS, len(extra), capacity))
        padded = bytearray(extra.ljust(capacity, b" "))
        tensors[PARAM_GROUPS] = torch.frombuffer(padded, dtype=torch.uint8)
    for name, tensor in tensors.items():
        if tensor.dtype not in DTYPES:
            raise LcckptError("tensor %s: dtype %s is not one lc-checkpoint stores (%s)"
                              % (name, tensor.dtype, ", ".join(str(d) for d in DTYPES)))
        if tensor.is_sparse:
            raise LcckptError("tensor %s: a sparse tensor; checkpoint its dense form" % name)
    return tensors, capacity


def split_state(tensors):
    """Named tensors back into (model state_dict, optimizer state_dict or None)."""
    model = {}
    optimizer_state = {}
    extra = None
    for name, tensor in tensors.items():
        if name.startswith("model."):
            model[name[len("model."):]] = tensor
        elif name == PARAM_GROUPS:
            extra = json.loads(bytes(tensor.numpy()).decode("utf-8").rstrip())
        elif name.startswith("optimizer.state."):
            index, key = name[len("optimizer.state."):].split(".", 1)
            optimizer_state.setdefault(int(index), {})[key] = tensor
    if extra is None:
        return model, None
    for index, entries in extra["state"].items():
        optimizer_state.setdefault(int(index), {}).update(entries)
    return model, {"state": optimizer_state, "param_groups": extra["param_groups"]}
