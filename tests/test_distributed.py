"""Data-parallel training: 2 gloo processes on the CPU, each with half of every batch, end where
one process with the whole (doubled) batch ends (within float rounding of the all-reduce)."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from unsup import checkpoints
from unsup.models.vae import ConvVAE, VAEConfig
from unsup.train import fit

TOLERANCE = 1e-5
"""Largest absolute weight difference allowed after 6 steps: the two runs differ only in the
order of float additions (gradients summed across processes, then divided)."""


def _data() -> torch.Tensor:
    return (torch.rand(96, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.6).float()


def _config(batch: int) -> VAEConfig:  # deterministic: a plain autoencoder, no noise, no shift
    return VAEConfig.tiny(variational=False, batch_size=batch, lr=5e-3)


def _worker(rank: int, world: int, port: int, out: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        model = ConvVAE(_config(8))  # 8 per process: a global batch of 16
        fit(model, _data(), steps=6, checkpoint_path=out, device="cpu", log_every=1)
        # leave together: a rank that tore its group down while rank 0 was still writing the
        # checkpoint once aborted in gloo ("terminate called without an active exception")
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_with_the_doubled_batch(tmp_path, monkeypatch):
    import sys
    import types

    # spawned children re-import ``__main__``; an AppTest earlier in the session may have left
    # a page script there, which the children would run: give them an empty one
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    out = tmp_path / "ddp" / "model"
    mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    files = sorted(p.name for p in out.parent.iterdir())
    # one set of files, written by rank 0 alone: the last checkpoint and its "best" copy
    assert files == ["model.best.json", "model.best.safetensors", "model.json",
                     "model.optim-6.pt", "model.safetensors"]
    ddp = checkpoints.load(out, optimizer=True)
    one = ConvVAE(_config(16))
    fit(one, _data(), steps=6, device="cpu")
    assert ddp.step_ == one.step_ == 6
    moved = max(float((p - q).abs().max()) for p, q in
                zip(ConvVAE(_config(16)).state_dict().values(), one.state_dict().values()))
    assert moved > 1e-3  # training changed the weights, so the comparison means something
    worst = max(float((p - q).abs().max())
                for p, q in zip(ddp.state_dict().values(), one.state_dict().values()))
    assert worst < TOLERANCE, worst
