"""The state as named tensors (lcckpt.state), without a broker: StateReader reads what the state dicts hold, and
LiveState notices every way the live tensors can stop being what they hold."""
import os
import sys
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from lcckpt.state import PARAM_GROUPS, LiveState, StateReader, optimizer_extra  # noqa: E402
from lenet import LeNet5  # noqa: E402


def trained(optimizer_class=torch.optim.Adam, **options):
    torch.manual_seed(3)
    model = LeNet5()
    optimizer = optimizer_class(model.parameters(), **options)
    for _ in range(2):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.rand(8, 1, 28, 28)), torch.randint(0, 10, (8,))).backward()
        optimizer.step()
    return model, optimizer


class StateReaderTest(unittest.TestCase):

    def test_reads_what_the_state_dicts_hold_for_every_optimizer(self):
        for optimizer_class, options in [(torch.optim.Adam, {"lr": 1e-3}), (torch.optim.SGD, {"lr": 0.1}),
                                         (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}), (torch.optim.AdamW, {"amsgrad": True}),
                                         (torch.optim.Rprop, {})]:
            with self.subTest(optimizer=optimizer_class.__name__, options=options):
                model, optimizer = trained(optimizer_class, **options)
                reader = StateReader(model, optimizer)
                for change in range(2):
                    tensors = reader.read()
                    expected = {"model." + k: v for k, v in model.state_dict().items()}
                    state = optimizer.state_dict()
                    for index, entries in sorted(state["state"].items()):
                        expected.update({"optimizer.state.%d.%s" % (index, k): v for k, v in entries.items() if isinstance(v, torch.Tensor)})
                    self.assertEqual(list(tensors)[:-1], list(expected))
                    for name, tensor in expected.items():
                        self.assertEqual(tensors[name].data_ptr(), tensor.data_ptr(), name)
                    self.assertEqual(bytes(tensors[PARAM_GROUPS].numpy()).rstrip(), optimizer_extra(state))
                    optimizer.param_groups[0]["lr"] *= 0.5  # a scheduler's change: the JSON follows it

    def test_the_hyperparameters_tensor_is_made_again_only_when_they_change(self):
        model, optimizer = trained()
        reader = StateReader(model, optimizer)
        first = reader.read()[PARAM_GROUPS]
        self.assertIs(reader.read()[PARAM_GROUPS], first)
        optimizer.param_groups[0]["lr"] = 0.5
        self.assertIsNot(reader.read()[PARAM_GROUPS], first)
        self.assertIn(b'"lr": 0.5', bytes(reader.read()[PARAM_GROUPS].numpy()))


class LiveStateTest(unittest.TestCase):

    def live(self):
        model, optimizer = trained()
        live = LiveState.of(model, optimizer)
        self.assertIsNotNone(live)
        self.assertTrue(live.still())
        return model, optimizer, live

    def test_holds_the_tensors_the_state_dicts_view(self):
        model, optimizer, live = self.live()
        tensors = StateReader(model, optimizer).read()
        self.assertEqual(list(live.tensors), [name for name in tensors if name != PARAM_GROUPS])
        for name, tensor in live.tensors.items():
            self.assertEqual(tensor.data_ptr(), tensors[name].data_ptr(), name)

    def test_training_in_place_keeps_it(self):
        model, optimizer, live = self.live()
        for _ in range(3):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(torch.rand(8, 1, 28, 28)), torch.randint(0, 10, (8,))).backward()
            optimizer.step()
            self.assertTrue(live.still())

    def test_notices_every_change_of_what_the_state_dicts_would_hold(self):
        changes = {
            "a parameter replaced": lambda m, o: setattr(m.fc3, "bias", torch.nn.Parameter(torch.zeros(10))),
            "a parameter's data reassigned": lambda m, o: setattr(m.fc3.bias, "data", torch.zeros(10)),
            "a parameter's data moved to other memory": lambda m, o: setattr(m.conv1.bias, "data", m.conv1.bias.data.flip(0)),
            "a buffer resized": lambda m, o: m.bn2.running_mean.resize_(5),
            "a buffer added": lambda m, o: m.fc3.register_buffer("extra", torch.zeros(2)),
            "a buffer made non-persistent": lambda m, o: m.bn2._non_persistent_buffers_set.add("running_mean"),
            "a module added": lambda m, o: setattr(m, "head", torch.nn.Linear(2, 2)),
            "a module replaced": lambda m, o: setattr(m, "fc3", torch.nn.Linear(84, 10)),
            "a state dict hook": lambda m, o: m.fc3._register_state_dict_hook(lambda *a: None),
            "the optimizer's state loaded again": lambda m, o: o.load_state_dict(o.state_dict()),
            "a parameter group added": lambda m, o: o.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))]}),
            "an optimizer state entry added": lambda m, o: o.state[m.fc3.bias].__setitem__("extra", torch.zeros(1)),
            "a moment replaced": lambda m, o: o.state[m.fc3.bias].__setitem__("exp_avg", torch.zeros(10)),
        }
        for description, change in changes.items():
            with self.subTest(change=description):
                model, optimizer, live = self.live()
                change(model, optimizer)
                self.assertFalse(live.still(), description)

    def test_a_square_matrix_transposed_in_its_own_memory_is_noticed(self):
        model = torch.nn.Linear(4, 4)
        live = LiveState.of(model)
        model.weight.data = model.weight.data.t()  # same memory, same shape: only the strides tell
        self.assertFalse(live.still())

    def test_state_dicts_that_are_not_plain_are_not_live(self):
        class Custom(torch.nn.Linear):
            def _save_to_state_dict(self, destination, prefix, keep_vars):
                super()._save_to_state_dict(destination, prefix, keep_vars)

        class Extra(torch.nn.Linear):
            def get_extra_state(self):
                return {"x": 1}

        self.assertIsNone(LiveState.of(torch.nn.Sequential(Custom(2, 2))))
        self.assertIsNone(LiveState.of(Extra(2, 2)))
        model, optimizer = trained(torch.optim.SGD, lr=0.1)  # SGD's momentum_buffer is None: not all tensors
        self.assertIsNone(LiveState.of(model, optimizer))


if __name__ == "__main__":
    unittest.main()
