"""The Python client against a real broker and encoder (started by the Java integration test PythonClientIT, which
passes LCCKPT_BOOTSTRAP, LCCKPT_JAR and LCCKPT_EXCHANGE). Run alone: start `./lcckpt broker`, then
LCCKPT_BOOTSTRAP=127.0.0.1:<port> python3 -m unittest discover -s python/tests -v
"""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

import lcckpt  # noqa: E402
from lcdecode import xxh64  # noqa: E402  (the XXH64 written from the spec, docs/FORMAT.md §5)
from lenet import LeNet5  # noqa: E402

BOOTSTRAP = os.environ.get("LCCKPT_BOOTSTRAP")


def wait_for_step(job, step, timeout=120):
    """Until the job's latest restorable step is at least ``step`` (the encoder codes behind the trainer)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            found = lcckpt.steps(job, bootstrap_servers=BOOTSTRAP)
            last = found[-1]
            if last["step"] >= step:
                return found
        except lcckpt.LcckptError:
            pass
        time.sleep(1.0)  # each look starts a JVM (lcckpt steps): not too often
    raise AssertionError("job %s: step %d not restorable within %d s (last: %s)" % (job, step, timeout, last))


@unittest.skipUnless(BOOTSTRAP, "needs LCCKPT_BOOTSTRAP (PythonClientIT passes it)")
class ClientTest(unittest.TestCase):

    def test_a_killed_trainer_is_restored_into_model_and_optimizer_and_trains_on(self):
        job = "py-lenet"
        trainer = os.path.join(HERE, "trainer.py")
        process = subprocess.Popen([sys.executable, trainer, job, "trainer", "1000"], stdout=subprocess.PIPE, text=True)
        committed = -1
        for line in process.stdout:
            if line.startswith("committed "):
                committed = max(committed, int(line.split()[1]))
                if committed >= 25:
                    break
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
        self.assertGreaterEqual(committed, 25)

        # nothing committed is lost: the latest restorable step is at least the last committed one
        wait_for_step(job, committed)
        model, optimizer = LeNet5(), None
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        info = lcckpt.load_into(model, optimizer, job=job, bootstrap_servers=BOOTSTRAP)
        self.assertGreaterEqual(info["step"], committed)
        # the exact tensors are exact: BatchNorm's counter and Adam's step count one per step (steps 0..N)
        self.assertEqual(model.bn2.num_batches_tracked.item(), info["step"] + 1)
        adam = optimizer.state_dict()["state"]
        self.assertEqual(len(adam), len(list(model.parameters())))
        self.assertTrue(all(entry["step"].item() == info["step"] + 1 for entry in adam.values()))
        self.assertEqual(optimizer.param_groups[0]["lr"], 1e-3)
        codecs = {tensor["name"]: tensor["codec"] for tensor in info["tensors"]}
        self.assertEqual(codecs["model.bn2.num_batches_tracked"], "exact")
        self.assertEqual(codecs["optimizer.state.0.step"], "exact")
        self.assertEqual(codecs["model.fc1.weight"], "job")

        # the restored tensors are the chain's reconstruction, bit for bit: their bytes hash to the restore's XXH64s
        model_state, optimizer_state, again = lcckpt.restore(job, step=info["step"], bootstrap_servers=BOOTSTRAP)
        named = {"model." + key: value for key, value in model_state.items()}
        for index, entries in optimizer_state["state"].items():
            for key, value in entries.items():
                named["optimizer.state.%d.%s" % (index, key)] = value
        for tensor in again["tensors"]:
            if tensor["name"] in named:
                raw = named[tensor["name"]].reshape(-1).view(torch.uint8).numpy().tobytes()
                self.assertEqual("%016x" % xxh64(raw), tensor["xxh64"], tensor["name"])

        # resume: a new process goes on from the restored step in a new generation, and trains on
        resumed = subprocess.run([sys.executable, trainer, job, "trainer", "8", "resume"], stdout=subprocess.PIPE, text=True,
                                 timeout=300)
        self.assertEqual(resumed.returncode, 0, resumed.stdout)
        self.assertIn("restored %d" % info["step"], resumed.stdout)
        steps = wait_for_step(job, info["step"] + 7)
        latest = steps[-1]
        self.assertEqual(latest["step"], info["step"] + 7)
        self.assertGreater(latest["generation"], info["generation"])
        _, _, after = lcckpt.restore(job, bootstrap_servers=BOOTSTRAP)
        self.assertEqual(after["generation"], latest["generation"])

    def test_the_trainer_split_sends_a_thirtieth_of_the_model_or_less(self):
        job = "py-split"
        torch.manual_seed(2)
        model = LeNet5()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
        model_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
        receipts = []
        with lcckpt.Checkpointer(job=job, bootstrap_servers=BOOTSTRAP, model=model, split="trainer") as ckpt:
            for step in range(15):
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                optimizer.step()
                receipts.append(ckpt.step(step))
            results = [future.result(timeout=120) for future in receipts]
        # step 0 is the initial (full) state; after it, coded chunks
        sent = [receipt["bytes"] for receipt in results[1:]]
        print("\n  trainer split: %d bytes of model, bytes sent per step %s" % (model_bytes, sent))
        self.assertLessEqual(max(sent), model_bytes / 30, "bytes per step %s, model %d" % (sent, model_bytes))

    def test_bad_input_is_refused_before_it_is_sent_naming_job_step_and_tensor(self):
        job = "py-bad"
        model = torch.nn.Linear(4, 2)
        with lcckpt.Checkpointer(job=job, bootstrap_servers=BOOTSTRAP, model=model) as ckpt:
            ckpt.step(0).result(timeout=60)
            with torch.no_grad():
                model.weight[0, 1] = float("nan")
            # the JVM looks for NaN while it takes the values: the step's future fails, and so does the next step()
            refused = ckpt.step(1)
            with self.assertRaisesRegex(lcckpt.LcckptError, r"job py-bad, step 1, tensor model.weight: holds NaN or an infinity \(at flat index 1\)"):
                refused.result(timeout=60)
            with torch.no_grad():
                model.weight[0, 1] = 0.5
            with self.assertRaisesRegex(lcckpt.LcckptError, "job py-bad, step 1, tensor model.weight: holds NaN"):
                ckpt.step(2)
            with self.assertRaisesRegex(lcckpt.LcckptError, r"job py-bad, step 0: not after the last published step 1 \(out of order\)"):
                ckpt.step(0)
            self.assertEqual(ckpt.step(2).result(timeout=60)["step"], 2)
            with self.assertRaisesRegex(lcckpt.LcckptError, r"job py-bad, step 2: not after the last published step 2 \(duplicate step\)"):
                ckpt.step(2)
            with torch.no_grad():
                model.bias[1] = float("-inf")
            with self.assertRaisesRegex(lcckpt.LcckptError, "job py-bad, step 3, tensor model.bias: holds NaN or an infinity"):
                ckpt.step(3).result(timeout=60)
            with self.assertRaisesRegex(lcckpt.LcckptError, "step 3, tensor model.bias"):
                ckpt.drain()
            with torch.no_grad():
                model.bias[1] = 0.0
            model.bias = torch.nn.Parameter(torch.zeros(3))
            with self.assertRaisesRegex(lcckpt.LcckptError, r"job py-bad, step 4, tensor model.bias: registered as torch.float32 \[2\], now torch.float32 \[3\]"):
                ckpt.step(4)
            model.bias = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
            with self.assertRaisesRegex(lcckpt.LcckptError, "tensor model.bias: registered as torch.float32"):
                ckpt.step(4)
        with self.assertRaisesRegex(lcckpt.LcckptError, "lcckpt restore: job py-absent: topic lcckpt.py-absent.checkpoints does not exist"):
            lcckpt.restore("py-absent", bootstrap_servers=BOOTSTRAP)

    def test_every_dtype_round_trips_and_the_chain_is_the_java_producers(self):
        """Deterministic tensors of every kind, published from Python with split=trainer; PythonClientIT publishes the
        same values (written to LCCKPT_EXCHANGE) with the Java producer and compares the two chains record by record."""
        job = "py-chain"
        exchange = os.environ.get("LCCKPT_EXCHANGE")
        generator = torch.Generator().manual_seed(7)

        class State(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = torch.nn.Parameter(torch.randn(70_000, generator=generator) * 0.05)
                self.register_buffer("h", (torch.randn(3_000, generator=generator) * 0.05).to(torch.bfloat16))
                self.register_buffer("f", (torch.randn(2_000, generator=generator) * 0.05).to(torch.float16))
                self.register_buffer("count", torch.tensor(0, dtype=torch.int64))
                self.register_buffer("mask", torch.rand(500, generator=generator) > 0.5)

        state = State()
        published = []
        with lcckpt.Checkpointer(job=job, bootstrap_servers=BOOTSTRAP, model=state, split="trainer") as ckpt:
            for step in range(6):
                with torch.no_grad():
                    if step > 0:
                        state.w += torch.randn(70_000, generator=generator) * 1e-3
                        state.h += (torch.randn(3_000, generator=generator) * 1e-2).to(torch.bfloat16)
                        state.f += (torch.randn(2_000, generator=generator) * 1e-2).to(torch.float16)
                        state.count += 1
                        state.mask[step * 10:step * 10 + 5] ^= True
                snapshot = {name: tensor.clone() for name, tensor in state.state_dict().items()}
                published.append(snapshot)
                ckpt.step(step).result(timeout=120)
        wait_for_step(job, 5)
        model_state, optimizer_state, info = lcckpt.restore(job, bootstrap_servers=BOOTSTRAP)
        self.assertIsNone(optimizer_state)
        self.assertEqual({t["name"]: t["dtype"] for t in info["tensors"]},
                         {"model.w": "FLOAT32", "model.h": "BFLOAT16", "model.f": "FLOAT16", "model.count": "INT64", "model.mask": "BOOL"})
        self.assertTrue(torch.equal(model_state["count"], published[-1]["count"]))
        self.assertTrue(torch.equal(model_state["mask"], published[-1]["mask"]))
        for name in ("w", "h", "f"):
            self.assertEqual(model_state[name].dtype, published[-1][name].dtype)
            movement = (published[-1][name] - published[-2][name]).float().norm()
            self.assertLess((model_state[name] - published[-1][name]).float().norm(), 3 * movement + 1e-3, name)
        if exchange:
            os.makedirs(exchange, exist_ok=True)
            for step, snapshot in enumerate(published):
                for name, tensor in snapshot.items():
                    with open(os.path.join(exchange, "%d-%s.bin" % (step, name)), "wb") as f:
                        f.write(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
            with open(os.path.join(exchange, "tensors.json"), "w") as f:
                json.dump({"job": job, "steps": len(published), "generation": info["generation"],
                           "tensors": [[name, lcckpt.state.DTYPES[t.dtype], list(t.shape)] for name, t in published[0].items()]}, f)


if __name__ == "__main__":
    unittest.main()
