"""A PyTorch trainer process for the client's tests: LeNet-5 + Adam checkpointing every step through lcckpt, printing
"committed <step>" as each step's future completes. Killed with SIGKILL by the test mid-run.

    trainer.py JOB SPLIT STEPS [resume]
"""
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

import lcckpt  # noqa: E402
from lenet import LeNet5, batches, data, train_step  # noqa: E402


def main():
    job, split, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    resume = len(sys.argv) > 4 and sys.argv[4] == "resume"
    bootstrap = os.environ["LCCKPT_BOOTSTRAP"]
    torch.manual_seed(1)
    torch.set_num_threads(1)
    model = LeNet5()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = 0
    if resume:
        info = lcckpt.load_into(model, optimizer, job=job, bootstrap_servers=bootstrap)
        start = info["step"]
        print("restored %d generation %d" % (start, info["generation"]), flush=True)
    images, labels = data(limit=4096)
    stream = batches(images, labels, seed=start)
    lock = threading.Lock()

    def report(future):
        receipt = future.result()
        with lock:
            print("committed %d" % receipt["step"], flush=True)

    with lcckpt.Checkpointer(job=job, bootstrap_servers=bootstrap, model=model, optimizer=optimizer, split=split) as ckpt:
        for step in range(start, start + steps):
            x, y = next(stream)
            if step > start or not resume:
                train_step(model, optimizer, x, y)
            future = ckpt.resume(step) if resume and step == start else ckpt.step(step)
            future.add_done_callback(report)
    print("done", flush=True)


if __name__ == "__main__":
    main()
