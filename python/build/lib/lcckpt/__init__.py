"""lc-checkpoint for PyTorch: every-step lossy checkpoints of a model and its optimizer, streamed through Kafka.

    from lcckpt import Checkpointer, load_into
    ckpt = Checkpointer(job="lenet", bootstrap_servers="127.0.0.1:9092", model=model, optimizer=opt)
    for step, (x, y) in enumerate(loader):
        ...; opt.step()
        ckpt.step(step)                          # returns a Future; blocks only to copy the state
    ckpt.close()

    info = load_into(model, opt, job="lenet", bootstrap_servers="127.0.0.1:9092")   # after a crash
"""
from .checkpointer import Checkpointer
from .errors import LcckptError, StepFailed
from .restore import load_into, read_safetensors, restore, steps

__all__ = ["Checkpointer", "LcckptError", "StepFailed", "load_into", "read_safetensors", "restore", "steps"]
