"""Checkpointer: every step of a PyTorch training run, published through the lc-checkpoint JVM."""
import concurrent.futures
import ctypes
import json
import mmap
import os
import subprocess
import tempfile
import threading
import time

import numpy as np
import torch

from . import _jvm
from .errors import LcckptError, StepFailed
from .state import DTYPES, named_tensors

def _bfloat16_finite(raw):
    # bfloat16 is float32's upper half: exponent all ones is NaN or an infinity
    return not np.any((raw.view(np.uint16) & 0x7F80) == 0x7F80)


#: dtype -> a check that the raw bytes hold no NaN or infinity
FINITE = {
    torch.float32: lambda raw: bool(np.isfinite(raw.view(np.float32)).all()),
    torch.float64: lambda raw: bool(np.isfinite(raw.view(np.float64)).all()),
    torch.float16: lambda raw: bool(np.isfinite(raw.view(np.float16)).all()),
    torch.bfloat16: _bfloat16_finite,
}

#: Optimizer step counters are stored exactly (a lossy step count would change Adam's bias correction on resume).
DEFAULT_CODINGS = {"optimizer.state.*.step": "exact"}


class Checkpointer:
    """Checkpoints ``model`` (and ``optimizer``) of job ``job`` at every ``step()``.

    ``step(n)`` copies the state once into shared memory and returns a ``concurrent.futures.Future`` that completes with
    the step's receipt when Kafka has committed it (or fails with ``StepFailed``); the coding and the sending happen in
    the JVM this object starts (``lcckpt.jar bridge``), beside the training loop. Kafka and lc-checkpoint settings pass
    through unchanged: ``config={"security.protocol": "SASL_SSL", ...}`` or keywords with '_' for '.'
    (``security_protocol="SASL_SSL"``, ``lcckpt_split="trainer"``). ``split`` is lc-checkpoint's split: "storage" (the
    encoder codes), "trainer" (the JVM codes here and sends coded chunks) or "auto". ``coding`` gives groups of tensors
    their own coding, ``{glob: "exact" | "bits=3" | ...}``, e.g. ``{"optimizer.state.*.exp_avg*": "bits=3"}``.

    Call ``step`` after ``optimizer.step()``: the first call registers the tensors the state holds then.
    """

    def __init__(self, job, bootstrap_servers=None, model=None, optimizer=None, split="storage", coding=None, config=None,
                 jar=None, jvm_options=None, **settings):
        if model is None and optimizer is None:
            raise LcckptError("job %s: give a model, an optimizer or both" % job)
        self.job = job
        self.model = model
        self.optimizer = optimizer
        merged = dict(config or {})
        merged.setdefault("lcckpt.job", job)
        merged.setdefault("lcckpt.split", split)
        codings = dict(coding or {})
        for glob, value in DEFAULT_CODINGS.items():
            codings.setdefault(glob, value)
        rules = ";".join("%s=%s" % (glob, value) for glob, value in codings.items())
        if merged.get("lcckpt.codec.tensor.options"):
            rules = merged["lcckpt.codec.tensor.options"] + ";" + rules
        merged["lcckpt.codec.tensor.options"] = rules
        self._settings = _jvm.kafka_config(bootstrap_servers, merged, **settings)
        self._layout = None          # [(name, dtype, shape, offset, bytes)] of one slot
        self._capacity = None        # the optimizer JSON's bytes
        self._slot_bytes = 0
        self._slots = []             # per slot: threading.Event set when the JVM took the values
        self._next_slot = 0
        self._ids = 0
        self._lock = threading.Lock()
        self._pending = {}           # request id -> Future of its reply (ok/error)
        self._steps = {}             # request id -> Future of its step (committed/failed)
        self._taken = {}             # request id -> slot index
        self._closed = False
        self._last_step = None
        self.blocked_seconds = 0.0   # time step() held the training loop (snapshot + waiting for a free slot)
        self.waited_seconds = 0.0    # the part of it spent waiting for the JVM to take an earlier step's values
        self.steps_published = 0
        self._shared_path = None
        self._shared = None
        self._view = None
        self._targets = []           # per slot, the numpy view of each tensor's place in it
        self._address = 0            # the shared buffer's address in this process
        self._blocks = []            # (dtype, start, end) of each dtype's tensors in a slot
        self._publish_lines = []
        options = list(jvm_options) if jvm_options is not None else os.environ.get("LCCKPT_JVM_OPTIONS", "").split()
        self._process = subprocess.Popen([_jvm.java()] + options + ["-jar", _jvm.find_jar(jar), "bridge"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=None, bufsize=0)
        self._reader = threading.Thread(target=self._read, name="lcckpt-bridge-reader", daemon=True)
        self._reader.start()
        reply = self._request({"op": "open", "config": self._settings}, timeout=180)
        self.generation = reply.get("generation")

    # ---- the training loop's side ----

    def step(self, step):
        """Publishes the state after ``step``; blocks only to copy it (and while both shared buffers wait to be taken).
        Returns a Future of the step's receipt: {"step", "generation", "chunks", "bytes"}."""
        return self._publish(step, resume=False)

    def resume(self, step):
        """After a crash and a restore into model and optimizer: publishes their state as step ``step``, the first of a
        new generation (the steps the crashed run published after ``step`` are not part of it). Returns its Future."""
        return self._publish(step, resume=True)

    def drain(self, timeout=None):
        """Waits until every published step is committed (or failed)."""
        self._request({"op": "drain"}, timeout=timeout)

    def close(self, timeout=120):
        """Commits what was published, stops the JVM. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._process.poll() is None:
                self._request({"op": "close"}, timeout=timeout)
        finally:
            try:
                self._process.stdin.close()
            except OSError:
                pass
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._reader.join(timeout=10)
            self._process.stdout.close()
            self._view = None        # numpy's views export the mapping: drop them before closing the mapping
            self._targets = []
            if self._shared is not None:
                try:
                    self._shared.close()
                except BufferError:
                    pass                 # a view still alive somewhere: the mapping goes with the process
            if self._shared_path and os.path.exists(self._shared_path):
                os.unlink(self._shared_path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _publish(self, step, resume):
        if self._closed:
            raise LcckptError("job %s: the checkpointer is closed" % self.job)
        if not resume and self._last_step is not None and step <= self._last_step:
            raise LcckptError("job %s, step %s: not after the last published step %d (%s)"
                              % (self.job, step, self._last_step, "duplicate step" if step == self._last_step else "out of order"))
        started = time.perf_counter()
        tensors, self._capacity = named_tensors(self.model, self.optimizer, self._capacity)
        if self._layout is None:
            self._register(tensors)
        self._check_layout(step, tensors)
        slot = self._next_slot
        self._next_slot = (slot + 1) % len(self._slots)
        waited = time.perf_counter()
        if not self._slots[slot].wait(timeout=600):
            raise LcckptError("job %s, step %d: the JVM has not taken the values of an earlier step for 600 s" % (self.job, step))
        self.waited_seconds += time.perf_counter() - waited
        self._slots[slot].clear()
        base = slot * self._slot_bytes
        view = self._view
        targets = self._targets[slot]
        address = self._address + base
        for index, (name, _, _, offset, size) in enumerate(self._layout):
            tensor = tensors[name]
            if tensor.device.type == "cpu" and tensor.is_contiguous():
                # one memmove per tensor: the state's bytes straight into the shared buffer (numpy's per-call cost,
                # ~15 us a tensor, was most of what a small model's step cost)
                ctypes.memmove(address + offset, tensor.data_ptr(), size)
            else:
                np.copyto(targets[index], self._source(tensor))
        # the encoder would poison the step: refuse NaN and infinities here, one check per dtype over the copy (the
        # layout keeps each dtype's tensors together)
        for dtype, start, end in self._blocks:
            finite = FINITE.get(dtype)
            if finite is not None and not finite(view[base + start:base + end]):
                self._slots[slot].set()
                bad = next(n for n, d, _, o, z in self._layout if d == dtype and not finite(view[base + o:base + o + z]))
                raise LcckptError("job %s, step %s, tensor %s: holds NaN or an infinity" % (self.job, step, bad))
        request_id = self._next_id()
        future = concurrent.futures.Future()
        with self._lock:
            self._steps[request_id] = future
            self._taken[request_id] = slot
        # the request's fixed part is made once per slot
        self._send_raw(self._publish_lines[slot] % (request_id, int(step), "true" if resume else "false"))
        self.blocked_seconds += time.perf_counter() - started
        self.steps_published += 1
        self._last_step = step
        return future

    @staticmethod
    def _source(tensor):
        """The bytes of a tensor the memmove path cannot take (on a GPU, or not contiguous), as a numpy array."""
        return tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy()

    def _register(self, tensors):
        layout = []
        blocks = []
        offset = 0
        # each dtype's tensors together, in the state's order within it: one finiteness check per dtype and step
        order = []
        for name, tensor in tensors.items():
            if tensor.dtype not in order:
                order.append(tensor.dtype)
        for dtype in order:
            start = offset
            for name, tensor in tensors.items():
                if tensor.dtype == dtype:
                    size = tensor.numel() * tensor.element_size()
                    layout.append((name, tensor.dtype, tuple(tensor.shape), offset, size))
                    offset += (size + 63) // 64 * 64
            blocks.append((dtype, start, offset))
        self._blocks = blocks
        self._slot_bytes = max(64, offset)
        directory = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        handle, self._shared_path = tempfile.mkstemp(prefix="lcckpt-%s-" % self.job, dir=directory)
        os.ftruncate(handle, 2 * self._slot_bytes)
        self._shared = mmap.mmap(handle, 2 * self._slot_bytes)
        os.close(handle)
        self._slots = [threading.Event(), threading.Event()]
        for event in self._slots:
            event.set()
        self._request({"op": "map", "path": self._shared_path, "size": 2 * self._slot_bytes})
        for name, dtype, shape, _, _ in layout:
            self._request({"op": "register", "name": name, "shape": list(shape), "dtype": DTYPES[dtype]})
        self._layout = layout
        self._view = np.frombuffer(self._shared, dtype=np.uint8)
        self._address = self._view.ctypes.data
        self._targets = [[self._view[slot * self._slot_bytes + offset:slot * self._slot_bytes + offset + size]
                          for _, _, _, offset, size in layout] for slot in range(len(self._slots))]
        # the tensors' places in each slot, once: a publish then names its slot
        self._request({"op": "layout", "slots": [[[name, slot * self._slot_bytes + offset, size] for name, _, _, offset, size in layout]
                                                 for slot in range(len(self._slots))]})
        self._publish_lines = ['{"op": "publish", "id": %d, "step": %d, "resume": %s, "slot": ' + str(slot) + '}\n'
                               for slot in range(len(self._slots))]

    def _check_layout(self, step, tensors):
        """The encoder would dead-letter a changed tensor set, shape or dtype: refuse it here, naming it."""
        names = [entry[0] for entry in self._layout]
        for name in tensors:
            if name not in names:
                raise LcckptError("job %s, step %s, tensor %s: not in the state the first step registered (call step() after"
                                  " optimizer.step(), so that its state exists from the first step on)" % (self.job, step, name))
        for name, dtype, shape, _, _ in self._layout:
            tensor = tensors.get(name)
            if tensor is None:
                raise LcckptError("job %s, step %s, tensor %s: missing (it was registered at the first step)" % (self.job, step, name))
            if tensor.dtype != dtype or tuple(tensor.shape) != shape:
                raise LcckptError("job %s, step %s, tensor %s: registered as %s %s, now %s %s"
                                  % (self.job, step, name, dtype, list(shape), tensor.dtype, list(tensor.shape)))

    # ---- the JVM's side ----

    def _next_id(self):
        with self._lock:
            self._ids += 1
            return self._ids

    def _send(self, message):
        self._send_raw(json.dumps(message) + "\n")

    def _send_raw(self, text):
        line = text.encode("utf-8")
        try:
            self._process.stdin.write(line)
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise LcckptError("job %s: the lc-checkpoint JVM has exited (code %s); see its messages above"
                              % (self.job, self._process.poll()))

    def _request(self, message, timeout=120):
        request_id = self._next_id()
        future = concurrent.futures.Future()
        with self._lock:
            self._pending[request_id] = future
        message["id"] = request_id
        self._send(message)
        return future.result(timeout=timeout)

    def _read(self):
        for raw in self._process.stdout:
            try:
                reply = json.loads(raw.decode("utf-8"))
            except ValueError:
                continue
            request_id = reply.get("id")
            with self._lock:
                pending = self._pending.pop(request_id, None)
                step = self._steps.get(request_id)
                slot = self._taken.get(request_id)
            if "error" in reply:
                error = LcckptError(reply["error"])
                if pending is not None:
                    pending.set_exception(error)
                if step is not None:
                    with self._lock:
                        self._steps.pop(request_id, None)
                        self._taken.pop(request_id, None)
                    if slot is not None:
                        self._slots[slot].set()
                    step.set_exception(error)
                continue
            if pending is not None:
                pending.set_result(reply)
            if reply.get("taken") and slot is not None:
                self._slots[slot].set()
            if step is not None and (reply.get("committed") or reply.get("failed")):
                with self._lock:
                    self._steps.pop(request_id, None)
                    self._taken.pop(request_id, None)
                if reply.get("committed"):
                    step.set_result({key: reply.get(key) for key in ("step", "generation", "chunks", "bytes")})
                else:
                    step.set_exception(StepFailed(reply.get("error"), reply.get("step"), reply.get("fenced", False)))
        # the JVM is gone: whatever waits, fails
        error = LcckptError("job %s: the lc-checkpoint JVM exited (code %s)" % (self.job, self._process.wait()))
        with self._lock:
            waiting = list(self._pending.values()) + list(self._steps.values())
            self._pending.clear()
            self._steps.clear()
        for future in waiting:
            if not future.done():
                future.set_exception(error)
        for event in self._slots:
            event.set()
