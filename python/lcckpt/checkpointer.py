"""Checkpointer: every step of a PyTorch training run, published through the lc-checkpoint JVM."""
import concurrent.futures
import ctypes
import io
import json
import mmap
import os
import shutil
import subprocess
import tempfile
import threading
import time
import warnings

import numpy as np
import torch

from . import _jvm
from .errors import LcckptError, StepFailed
from .state import DTYPES, PARAM_GROUPS, LiveState, StateReader, check_storable

#: memmove that keeps the GIL: ctypes.memmove drops and takes it back on each call, and each drop lets the thread that
#: reads the JVM's replies in, so that a step's tensors waited for it again and again
_memmove = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)(
    ctypes.cast(ctypes.memmove, ctypes.c_void_p).value)


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

    On Linux the JVM runs under SCHED_BATCH (``batch_scheduling=True``, with util-linux's ``chrt``): woken by a step, it
    does not take the training thread's core from it, and it keeps its fair share of CPU (no starving, unlike ``nice``).

    Call ``step`` after ``optimizer.step()``: the first call registers the tensors the state holds then.
    """

    def __init__(self, job, bootstrap_servers=None, model=None, optimizer=None, split="storage", coding=None, config=None,
                 jar=None, jvm_options=None, batch_scheduling=True, **settings):
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
        self._state = StateReader(model, optimizer)
        self._slot_bytes = 0
        self._slots = []             # per slot: threading.Event set when the JVM took the values
        self._next_slot = 0
        self._ids = 0
        self._lock = threading.Lock()
        self._pending = {}           # request id -> Future of its reply (ok/error)
        self._steps = {}             # request id -> Future of its step (committed/failed)
        self._taken = {}             # request id -> slot index
        self._closed = False
        self._refused = None         # a step the JVM refused before sending it, raised by the next step() or drain()
        self._last_step = None
        self.blocked_seconds = 0.0   # time step() held the training loop (snapshot + waiting for a free slot)
        self.waited_seconds = 0.0    # the part of it spent waiting for the JVM to take an earlier step's values
        self.steps_published = 0
        self._shared_path = None
        self._shared = None
        self._view = None
        self._live = None            # the live tensors, while they are what the state dicts hold (LiveState)
        self._live_copies = []       # per live tensor: (its place in a slot, its address, its bytes)
        self._live_plans = 0
        self._param_groups_at = None # where optimizer.param_groups goes in a slot
        self._targets = []           # per slot, the numpy view of each tensor's place in it
        self._address = 0            # the shared buffer's address in this process
        self._publish_lines = []
        options = list(jvm_options) if jvm_options is not None else os.environ.get("LCCKPT_JVM_OPTIONS", "").split()
        # SCHED_BATCH: woken by each step's request, the JVM took the training thread's core from it for ~0.6 ms a step
        # when no other core was free; as a batch process it waits for its turn instead, with the same share of CPU
        prefix = ["chrt", "--batch", "0"] if batch_scheduling and shutil.which("chrt") else []
        self._process = subprocess.Popen(prefix + [_jvm.java()] + options + ["-jar", _jvm.find_jar(jar), "bridge"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=None, bufsize=0)
        self._reader = threading.Thread(target=self._read, name="lcckpt-bridge-reader", daemon=True)
        self._reader.start()
        reply = self._request({"op": "open", "config": self._settings}, timeout=180)
        self.generation = reply.get("generation")

    # ---- the training loop's side ----

    def step(self, step):
        """Publishes the state after ``step``; blocks only to copy it (and while both shared buffers wait to be taken).
        Returns a Future of the step's receipt: {"step", "generation", "chunks", "bytes"}.

        A state the encoder would dead-letter is refused before anything of it is sent, naming job, step and tensor:
        a changed set of tensors, shape or dtype raises here; NaN or an infinity (which the JVM looks for while it takes
        the values, off the training thread) fails the step's Future, and the next ``step()`` or ``drain()`` raises it."""
        return self._publish(step, resume=False)

    def resume(self, step):
        """After a crash and a restore into model and optimizer: publishes their state as step ``step``, the first of a
        new generation (the steps the crashed run published after ``step`` are not part of it). Returns its Future."""
        return self._publish(step, resume=True)

    def drain(self, timeout=None):
        """Waits until every published step is committed (or failed)."""
        self._request({"op": "drain"}, timeout=timeout)
        self._raise_refused()

    def close(self, timeout=120):
        """Commits what was published, stops the JVM. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._refused is not None:
            warnings.warn("lcckpt: %s" % self._refused)
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
            self._live_copies = []
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
        self._raise_refused()
        started = time.perf_counter()
        live = self._live is not None and self._live.still()
        tensors = None if live else self._state.read()
        if self._layout is None:
            check_storable(tensors)
            self._register(tensors)
        slot = self._next_slot
        self._next_slot = (slot + 1) % len(self._slots)
        waited = time.perf_counter()
        if not self._slots[slot].wait(timeout=600):
            raise LcckptError("job %s, step %d: the JVM has not taken the values of an earlier step for 600 s" % (self.job, step))
        self.waited_seconds += time.perf_counter() - waited
        self._slots[slot].clear()
        try:
            if live:
                self._copy_live(slot)
            else:
                self._copy(step, tensors, slot)
                self._plan_live(tensors)
        except BaseException:
            self._slots[slot].set()
            raise
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

    def _raise_refused(self):
        """Raises (once) the error of an earlier step the JVM refused before sending it (NaN or an infinity)."""
        with self._lock:
            refused, self._refused = self._refused, None
        if refused is not None:
            raise refused

    def _plan_live(self, tensors):
        """After a step read through the state dicts: the plan for copying the live tensors at the next steps, when the
        state is plain and every tensor a contiguous CPU one (``LiveState``). Given up after a few changes of state."""
        self._live = None
        self._live_copies = []
        if self._live_plans >= 4:
            return                    # the state keeps changing (or is not plain): read it through the state dicts
        self._live_plans += 1
        live = LiveState.of(self.model, self.optimizer)
        if live is None or [name for name in tensors if name != PARAM_GROUPS] != list(live.tensors):
            return
        copies = []
        for name, dtype, shape, offset, size in self._layout:
            if name == PARAM_GROUPS:
                continue              # made again when a hyperparameter changes: copied apart
            tensor = live.tensors[name]
            # the very memory the state dict's tensor views, contiguous and on the CPU
            if not (tensor.is_cpu and tensor.is_contiguous() and tensor.data_ptr() == tensors[name].data_ptr()
                    and tensor.dtype is dtype and tensor.shape == shape):
                return
            # (place in a slot, address, bytes): still() keeps the address valid
            copies.append((offset, tensor.data_ptr(), size))
        self._live = live
        self._live_copies = copies

    def _copy_live(self, slot):
        """The state's bytes into ``slot`` from the live tensors (``LiveState.still()`` held): one memmove a tensor from
        the addresses recorded, the optimizer's hyperparameters apart."""
        address = self._address + slot * self._slot_bytes
        memmove = _memmove
        for offset, source, size in self._live_copies:
            memmove(address + offset, source, size)
        if self._param_groups_at is not None:
            groups = self._state.param_groups()
            memmove(address + self._param_groups_at, groups.data_ptr(), groups.numel())

    def _copy(self, step, tensors, slot):
        """The state's bytes into ``slot``, checking each tensor against the registered layout on the way. One pass, a
        handful of cheap calls a tensor: with a small model, Python's per-call cost is most of what a step costs."""
        base = slot * self._slot_bytes
        address = self._address + base
        memmove = _memmove
        strided = torch.strided
        if len(tensors) != len(self._layout):
            self._check_layout(step, tensors)
        for index, (name, dtype, shape, offset, size) in enumerate(self._layout):
            tensor = tensors.get(name)
            if tensor is None or tensor.dtype is not dtype or tensor.shape != shape or tensor.layout is not strided:
                self._check_layout(step, tensors)
            if tensor.is_cpu and tensor.is_contiguous():
                memmove(address + offset, tensor.data_ptr(), size)  # one memmove: the bytes straight into shared memory
            else:
                np.copyto(self._targets[slot][index], self._source(tensor))

    @staticmethod
    def _source(tensor):
        """The bytes of a tensor the memmove path cannot take (on a GPU, or not contiguous), as a numpy array."""
        return tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy()

    def _register(self, tensors):
        layout = []
        offset = 0
        # each dtype's tensors together, in the state's order within it (the order the tensors are registered in, so
        # the order of the job's manifest: kept as the first jobs had it)
        order = []
        for name, tensor in tensors.items():
            if tensor.dtype not in order:
                order.append(tensor.dtype)
        for dtype in order:
            for name, tensor in tensors.items():
                if tensor.dtype == dtype:
                    size = tensor.numel() * tensor.element_size()
                    layout.append((name, tensor.dtype, tuple(tensor.shape), offset, size))
                    offset += size
            offset = (offset + 63) // 64 * 64
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
        self._param_groups_at = next((offset for name, _, _, offset, _ in layout if name == PARAM_GROUPS), None)
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
            if tensor.layout is not torch.strided:
                raise LcckptError("job %s, step %s, tensor %s: now a %s tensor; checkpoint its dense form" % (self.job, step, name, tensor.layout))

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
        # buffered: the raw pipe's readline reads a byte per system call, taking and dropping the GIL for each, which
        # made the training thread wait ~1.4 ms a step to get the GIL back after writing its request
        with io.BufferedReader(self._process.stdout, 1 << 16) as lines:
            for raw in lines:
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
                            if self._refused is None:
                                self._refused = error
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
