#!/usr/bin/env python3
"""The Python client's benchmark (issue #15): what checkpointing every step costs a PyTorch training loop, with ratios
measured in the same run.

    python3 python/bench_client.py [--bootstrap HOST:PORT] [--params 100000000] [--lenet-steps 300]

Without --bootstrap it starts `lcckpt broker` (a local broker + the encoder; --broker-cpus 1 keeps them on CPU 1) and
stops it at the end. Prints:
1. LeNet-5 (batch 64, CPU, Adam) checkpointing every step with split=trainer, in a window after 1,000 steps (the
   child JVM's JIT compiler still at work) and after 3,000 (settled): the training step's time without and with
   checkpointing, the time step() held the loop (target: at most 2% of the step), the bytes sent per step against the
   model's (target: at most 1/30), and the child JVM's CPU per step.
2. A float32 state of --params values: the time step() holds the loop per step, against torch.clone() of the same state
   in the same run (target: at most 2x).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "tests"))

import torch  # noqa: E402

import lcckpt  # noqa: E402
from lcckpt import _jvm  # noqa: E402
from lenet import LeNet5, batches, data, train_step  # noqa: E402


def start_broker(cpus=None):
    pin = ["taskset", "-c", cpus] if cpus else []
    process = subprocess.Popen(pin + [_jvm.java(), "-jar", _jvm.find_jar(), "broker"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if line.startswith("lcckpt broker: Kafka on "):
            return process, line.split()[4]
    raise SystemExit("lcckpt broker did not start")


def cpu_seconds(pid):
    """User + system CPU time of a process so far (Linux /proc)."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lenet(bootstrap, steps, split="trainer", warmups=(1000, 3000)):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    images, labels = data(limit=8192)
    stream = batches(images, labels)
    model = LeNet5()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(20):  # warm-up
        train_step(model, optimizer, *next(stream))
    model_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    state_bytes = model_bytes + sum(t.numel() * t.element_size() for e in optimizer.state_dict()["state"].values() for t in e.values()
                                    if isinstance(t, torch.Tensor))
    job = "bench-lenet-%d" % int(time.time())
    print("LeNet-5, batch 64, Adam, split=%s (model %d bytes, model + Adam state %d bytes)" % (split, model_bytes, state_bytes))
    with lcckpt.Checkpointer(job=job, bootstrap_servers=bootstrap, model=model, optimizer=optimizer, split=split) as ckpt:
        step = 0
        # a window of `steps` steps after each warm-up mark: the child JVM's JIT compiler takes CPU for the first minutes
        # of a run (a one-time cost: training runs for hours), so the first window shows that phase, the last the steady state
        for warmup in warmups:
            futures = []
            while step < warmup:
                train_step(model, optimizer, *next(stream))
                futures.append(ckpt.step(step))
                step += 1
            if futures:
                futures[-1].result(timeout=300)
            # the baseline beside each window: the same loop without step() (the machine's speed drifts over minutes)
            start = time.perf_counter()
            for _ in range(steps):
                train_step(model, optimizer, *next(stream))
            bare = (time.perf_counter() - start) / steps
            futures = []
            blocked_before = ckpt.blocked_seconds
            jvm_before = cpu_seconds(ckpt._process.pid)
            start = time.perf_counter()
            for _ in range(steps):
                train_step(model, optimizer, *next(stream))
                futures.append(ckpt.step(step))
                step += 1
            with_checkpoints = (time.perf_counter() - start) / steps
            blocked = (ckpt.blocked_seconds - blocked_before) / steps
            receipts = [f.result(timeout=300) for f in futures]
            jvm = (cpu_seconds(ckpt._process.pid) - jvm_before) / steps
            sent = statistics.mean(r["bytes"] for r in receipts)
            print("  %d steps after %d of warm-up:" % (steps, warmup))
            print("    training step without checkpoints, just before %8.2f ms" % (1000 * bare))
            print("    training step with a checkpoint every step %8.2f ms  (%+.1f%%)" % (1000 * with_checkpoints, 100 * (with_checkpoints / bare - 1)))
            print("    step() held the loop                       %8.3f ms  = %.2f%% of the step  (target <= 2%%: %s)"
                  % (1000 * blocked, 100 * blocked / with_checkpoints, "met" if blocked <= 0.02 * with_checkpoints else "MISSED"))
            print("    bytes sent per step                        %8.0f     = 1/%.0f of the model + Adam state (target <= 1/30: %s)"
                  % (sent, state_bytes / sent, "met" if sent <= state_bytes / 30 else "MISSED"))
            print("    the client's JVM: CPU per step             %8.2f ms  (coding and sending, beside the loop)" % (1000 * jvm))


def big_state(bootstrap, params, steps=4):
    tensors = 10
    per = params // tensors
    model = torch.nn.Module()
    for i in range(tensors):
        model.register_parameter("w%d" % i, torch.nn.Parameter(torch.randn(per) * 0.05))
    clones = []
    for _ in range(3):
        start = time.perf_counter()
        copy = {k: v.clone() for k, v in model.state_dict().items()}
        clones.append(time.perf_counter() - start)
        del copy
    clone = min(clones)
    job = "bench-big-%d" % int(time.time())
    held = []
    with lcckpt.Checkpointer(job=job, bootstrap_servers=bootstrap, model=model, split="trainer",
                             config={"lcckpt.buffer.memory": str(8 * params)}) as ckpt:
        for step in range(steps):
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(torch.randn_like(p), alpha=1e-4)
            start = time.perf_counter()
            future = ckpt.step(step)
            held.append(time.perf_counter() - start)
            future.result(timeout=900)  # a training step of this size takes longer than coding it; wait as one would
    steady = min(held[1:])
    print("float32 state of %d values (%d MB), split=trainer" % (tensors * per, tensors * per * 4 >> 20))
    print("  torch.clone() of the state                 %8.1f ms" % (1000 * clone))
    print("  step() held the loop (first step: %.0f ms)   %8.1f ms  = %.2fx the clone  (target <= 2x: %s)"
          % (1000 * held[0], 1000 * steady, steady / clone, "met" if steady <= 2 * clone else "MISSED"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap")
    parser.add_argument("--params", type=int, default=100_000_000)
    parser.add_argument("--lenet-steps", type=int, default=300)
    parser.add_argument("--split", default="trainer", help="storage, trainer or auto for the LeNet-5 run (default trainer)")
    parser.add_argument("--broker-cpus", help="run the broker and the encoder it starts on these CPUs only (taskset -c), as a"
                        " broker on other machines would be; the trainer and its JVM may still use every CPU")
    parser.add_argument("--warmup", default="1000,3000", help="LeNet-5: measure a window after each of these steps (default"
                        " 1000,3000: the child JVM's JIT compiler is still at work at the first, settled at the second)")
    args = parser.parse_args()
    broker = None
    bootstrap = args.bootstrap
    if not bootstrap:
        broker, bootstrap = start_broker(args.broker_cpus)
    try:
        lenet(bootstrap, args.lenet_steps, args.split, [int(w) for w in args.warmup.split(",")])
        big_state(bootstrap, args.params)
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(timeout=60)


if __name__ == "__main__":
    main()
