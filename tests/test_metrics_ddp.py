"""Two CPU processes (gloo) give the same FID, KID and AUC as one process on an odd-sized set."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data.distributed import DistributedSampler

from fakearena.metrics.detection import detection_metrics
from fakearena.metrics.fid import FID, KID
from fakearena.tasks.detect import prediction_buffer

N = 101  # odd: the distributed sampler pads one shard with a repeated row
DIM = 32


def make_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    real = rng.normal(size=(N, DIM))
    fake = rng.normal(size=(N, DIM)) * 1.2 + 0.3
    labels = rng.integers(0, 2, N)
    probs = np.round(rng.random(N) * 0.6 + 0.3 * labels, 2)
    return real, fake, probs, labels


def compute(rank: int, world: int) -> dict:
    real, fake, probs, labels = make_data()
    fid, kid = FID(feature_dim=DIM), KID(subsets=10, subset_size=50)
    # Features: an unpadded split (each row on exactly one rank), as Metric states require.
    rows = np.arange(rank, N, world)
    fid.update(torch.from_numpy(real[rows]), real=True)
    fid.update(torch.from_numpy(fake[rows]), real=False)
    kid.update(torch.from_numpy(real[rows]), real=True)
    kid.update(torch.from_numpy(fake[rows]), real=False)
    # Predictions: the padding DistributedSampler, de-duplicated by row index when gathered.
    buffer = prediction_buffer()
    indices = torch.tensor(list(DistributedSampler(range(N), world, rank, shuffle=False)))
    buffer.add(
        indices,
        prob=torch.from_numpy(probs[indices.numpy()]),
        label=torch.from_numpy(labels[indices.numpy()]),
    )
    _, gathered = buffer.gather()
    gathered_probs, gathered_labels = gathered["prob"], gathered["label"].astype(np.int64)
    out = detection_metrics(gathered_probs, gathered_labels, n_bootstrap=200, seed=0)
    return {"fid": fid.compute(), "kid": kid.compute(), "det": out, "n_seen": len(indices)}


def worker(rank: int, world: int, port: int, queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        queue.put((rank, compute(rank, world)))
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.ddp
def test_two_process_ddp_equals_single_process() -> None:
    single = compute(0, 1)
    context = mp.get_context("spawn")
    queue = context.Queue()
    mp.spawn(worker, args=(2, free_port(), queue), nprocs=2, join=True)
    results = dict(queue.get(timeout=60) for _ in range(2))
    assert results[0]["n_seen"] + results[1]["n_seen"] == N + 1  # one padded duplicate
    for rank in (0, 1):
        got = results[rank]
        assert got["fid"]["n_a"] == got["fid"]["n_b"] == N
        assert got["fid"]["fid"] == pytest.approx(single["fid"]["fid"], rel=1e-10)
        assert got["kid"]["n_a"] == N
        assert got["kid"]["kid_mean"] == pytest.approx(single["kid"]["kid_mean"], rel=1e-10)
        assert got["kid"]["kid_std"] == pytest.approx(single["kid"]["kid_std"], rel=1e-10)
        for key in ("auc", "ap", "eer", "acc", "n", "auc_ci95"):
            assert got["det"][key] == pytest.approx(single["det"][key], abs=1e-12), key
