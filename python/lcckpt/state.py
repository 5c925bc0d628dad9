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


class StateReader:
    """Reads a model's and an optimizer's state as named tensors, step after step.

    The names and tensors are those of ``model.state_dict()`` and ``optimizer.state_dict()``; the optimizer's part is
    read from ``optimizer.state`` and ``param_groups`` directly (what ``Optimizer.state_dict`` packs, without its copies),
    and its JSON is made again only when a hyperparameter changed. In a training loop, right after the step has evicted
    the interpreter's caches, ``optimizer.state_dict()`` and the JSON took ~0.2 ms a step for a LeNet-5, more than
    copying its 0.7 MB. An optimizer class with its own ``state_dict`` is read through it.
    """

    def __init__(self, model=None, optimizer=None):
        self.model = model
        self.optimizer = optimizer
        self.capacity = None
        self._groups = None          # the hyperparameters the cached JSON was made from
        self._padded = None          # the cached optimizer.param_groups tensor
        self._direct = optimizer is not None and type(optimizer).state_dict is torch.optim.Optimizer.state_dict

    def read(self):
        """The state as {name: tensor}, in a stable order."""
        tensors = {}
        if self.model is not None:
            for key, value in self.model.state_dict().items():
                tensors["model." + key] = value
        if self.optimizer is not None:
            if self._direct:
                self._read_optimizer(tensors)
            else:
                state_dict = self.optimizer.state_dict()
                for index, entries in sorted(state_dict["state"].items()):
                    for key, value in entries.items():
                        if isinstance(value, torch.Tensor):
                            tensors["optimizer.state.%d.%s" % (index, key)] = value
                tensors[PARAM_GROUPS] = self._pad(optimizer_extra(state_dict))
        return tensors

    def _read_optimizer(self, tensors):
        state = self.optimizer.state
        extra_state = {}
        index = 0
        for group in self.optimizer.param_groups:
            for param in group["params"]:
                entries = state.get(param)
                if entries:
                    for key, value in entries.items():
                        if isinstance(value, torch.Tensor):
                            tensors["optimizer.state.%d.%s" % (index, key)] = value
                        else:
                            extra_state.setdefault(str(index), {})[key] = _plain(value)
                index += 1
        tensors[PARAM_GROUPS] = self.param_groups(extra_state)

    def param_groups(self, extra_state=None):
        """The ``optimizer.param_groups`` tensor: the hyperparameters and ``extra_state`` (the optimizer's non-tensor
        state, by parameter index) as padded JSON; the same tensor as the last call's while neither changed."""
        extra_state = extra_state or {}
        groups = []
        for group in self.optimizer.param_groups:
            groups.append(_plain({k: v for k, v in group.items() if k != "params"}))
            groups[-1]["params"] = len(group["params"])
        if self._padded is None or (groups, extra_state) != self._groups:
            start = 0
            packed = []
            for group in groups:
                count = group["params"]
                packed.append(dict(group, params=list(range(start, start + count))))
                start += count
            text = json.dumps({"param_groups": packed, "state": extra_state}, sort_keys=True).encode("utf-8")
            self._padded = self._pad(text)
            self._groups = (groups, extra_state)
        return self._padded

    def _pad(self, extra):
        if self.capacity is None:
            self.capacity = max(1024, 2 * len(extra) + 256)
        if len(extra) > self.capacity:
            raise LcckptError("tensor %s: the optimizer's hyperparameters take %d bytes of JSON, more than the %d the first step"
                              " registered (a new Checkpointer starts a new layout)" % (PARAM_GROUPS, len(extra), self.capacity))
        return torch.frombuffer(bytearray(extra.ljust(self.capacity, b" ")), dtype=torch.uint8)


class LiveState:
    """The tensors behind ``StateReader.read()`` themselves (parameters, buffers, optimizer state), and a cheap check
    that they still are: the training loop can then copy them without making the state dicts again.

    ``state_dict()`` makes a detached tensor per entry every call; a LeNet-5's model and Adam state are 51 of them, and
    right after a training step this cost more than the copy. A ``LiveState`` records where each tensor lives (its
    module's ``_parameters``/``_buffers``, its optimizer state entry), its data pointer and shape, and the size of every
    container on the way; ``still()`` checks them all (a few cheap operations a tensor) and is False as soon as anything
    was replaced, added, removed, moved or resized, and the caller reads the state dicts again.

    ``of()`` returns None where the state dicts are not plain (a module or optimizer with its own ``state_dict``,
    ``_save_to_state_dict`` or extra state, state dict hooks, or optimizer state that is not all tensors): those are
    always read through their ``state_dict()``.
    """

    def __init__(self):
        self.tensors = {}     # name -> the live tensor, in read() order (without optimizer.param_groups)
        self._sizes = []      # (container, its length)
        self._same = []       # (container, key, the object it held)
        self._tensors = []    # (container, key, tensor, data pointer, shape, dtype)

    @classmethod
    def of(cls, model=None, optimizer=None):
        live = cls()
        if model is not None and not live._add_module(model, "model."):
            return None
        if optimizer is not None and not live._add_optimizer(optimizer):
            return None
        return live

    def _add_module(self, module, prefix):
        kind = type(module)
        if (kind.state_dict is not torch.nn.Module.state_dict or kind._save_to_state_dict is not torch.nn.Module._save_to_state_dict
                or kind.get_extra_state is not torch.nn.Module.get_extra_state):
            return False
        hooks = [getattr(module, name) for name in ("_state_dict_hooks", "_state_dict_pre_hooks") if hasattr(module, name)]
        if any(hooks):
            return False
        for name in ("_parameters", "_buffers", "_modules", "_non_persistent_buffers_set"):
            self._same.append((module.__dict__, name, module.__dict__[name]))
        for container in [module._parameters, module._buffers, module._modules, module._non_persistent_buffers_set] + hooks:
            self._sizes.append((container, len(container)))
        for key, value in module._parameters.items():
            self._same.append((module._parameters, key, value))
            if value is not None:
                self._tensor(prefix + key, module._parameters, key, value)
        for key, value in module._buffers.items():
            self._same.append((module._buffers, key, value))
            if value is not None and key not in module._non_persistent_buffers_set:
                self._tensor(prefix + key, module._buffers, key, value)
        for key, child in module._modules.items():
            self._same.append((module._modules, key, child))
            if child is not None and not self._add_module(child, prefix + key + "."):
                return False
        return True

    def _add_optimizer(self, optimizer):
        if type(optimizer).state_dict is not torch.optim.Optimizer.state_dict:
            return False
        state = optimizer.state
        # load_state_dict() puts a new state and new param_groups in place
        self._same.append((optimizer.__dict__, "state", state))
        self._same.append((optimizer.__dict__, "param_groups", optimizer.param_groups))
        self._sizes.append((optimizer.param_groups, len(optimizer.param_groups)))
        self._sizes.append((state, len(state)))
        index = 0
        for group in optimizer.param_groups:
            params = group["params"]
            self._same.append((group, "params", params))
            self._sizes.append((params, len(params)))
            for param in params:
                entries = state.get(param)
                self._same.append((state, param, entries))
                if entries:
                    self._sizes.append((entries, len(entries)))
                    for key, value in entries.items():
                        if not isinstance(value, torch.Tensor):
                            return False
                        self._tensor("optimizer.state.%d.%s" % (index, key), entries, key, value)
                index += 1
        return True

    def _tensor(self, name, container, key, tensor):
        self.tensors[name] = tensor
        self._tensors.append((container, key, tensor, tensor.data_ptr(), tensor.shape, tensor.dtype))

    def still(self):
        """True while every recorded tensor is still where it was, with the same memory and shape, and nothing was added."""
        for container, size in self._sizes:
            if len(container) != size:
                return False
        for container, key, value in self._same:
            if container.get(key) is not value:
                return False
        for container, key, tensor, pointer, shape, dtype in self._tensors:
            # same object, memory, shape and dtype, still contiguous (a transposed square matrix keeps the first three)
            if (container.get(key) is not tensor or tensor.data_ptr() != pointer or tensor.shape != shape
                    or tensor.dtype is not dtype or not tensor.is_contiguous()):
                return False
        return True


def check_storable(tensors):
    """Refuses a tensor lc-checkpoint cannot store, naming it."""
    for name, tensor in tensors.items():
        if tensor.dtype not in DTYPES:
            raise LcckptError("tensor %s: dtype %s is not one lc-checkpoint stores (%s)"
                              % (name, tensor.dtype, ", ".join(str(d) for d in DTYPES)))
        if tensor.layout is not torch.strided:
            raise LcckptError("tensor %s: a %s tensor; checkpoint its dense form" % (name, tensor.layout))


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
