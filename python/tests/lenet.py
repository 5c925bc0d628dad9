"""LeNet-5 on Fashion-MNIST (Debian's dataset-fashion-mnist when installed, synthetic images otherwise), trained with
Adam: the PyTorch trainer of the client's tests and benchmark."""
import gzip
import os
import struct

import torch

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


class LeNet5(torch.nn.Module):
    """LeNet-5 with a BatchNorm (so the state holds an int64 buffer, num_batches_tracked)."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)
        self.bn2 = torch.nn.BatchNorm2d(16)
        self.fc1 = torch.nn.Linear(400, 120)
        self.fc2 = torch.nn.Linear(120, 84)
        self.fc3 = torch.nn.Linear(84, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        x = x.flatten(1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def data(limit=6000, seed=0):
    """(images [N,1,28,28] float32 in [0,1], labels [N] int64): Fashion-MNIST's first ``limit`` training images, or
    synthetic ones (class-dependent blobs) when the dataset is not installed."""
    images = os.path.join(FASHION_MNIST, "train-images-idx3-ubyte.gz")
    labels = os.path.join(FASHION_MNIST, "train-labels-idx1-ubyte.gz")
    if os.path.exists(images) and os.path.exists(labels):
        with gzip.open(images, "rb") as f:
            _, count, rows, cols = struct.unpack(">IIII", f.read(16))
            count = min(count, limit)
            pixels = torch.frombuffer(bytearray(f.read(count * rows * cols)), dtype=torch.uint8)
        with gzip.open(labels, "rb") as f:
            f.read(8)
            targets = torch.frombuffer(bytearray(f.read(count)), dtype=torch.uint8)
        return pixels.reshape(count, 1, rows, cols).float() / 255.0, targets.long()
    generator = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, 10, (limit,), generator=generator)
    base = torch.rand(10, 1, 28, 28, generator=generator)
    return (base[targets] + 0.3 * torch.rand(limit, 1, 28, 28, generator=generator)).clamp(0, 1), targets


def batches(images, labels, batch=64, seed=0):
    """Endless minibatches in a seeded order."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(order) - batch + 1, batch):
            index = order[start:start + batch]
            yield images[index], labels[index]


def train_step(model, optimizer, x, y):
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()
