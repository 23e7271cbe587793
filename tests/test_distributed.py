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


# -- equal state on every rank and an exact distributed resume (issue 22, part 4) ---------------
def _family(name: str):
    """(model factory, data) of a family with state beyond its weights: a DCGAN (BatchNorm
    running statistics, two optimizers, an averaged generator) and a CycleGAN with batch norm
    (its statistics and its two pools of past fakes)."""
    g = torch.Generator().manual_seed(3)
    if name == "dcgan":
        from unsup.models.gan import DCGAN, DCGANConfig

        cfg = DCGANConfig.tiny(batch_size=4, timelapse_frames=0)
        return (lambda: DCGAN(cfg)), torch.rand(64, 1, 8, 8, generator=g)
    from unsup.data.domains import UnpairedDomains
    from unsup.models.cyclegan import CycleGAN, CycleGANConfig

    cfg = CycleGANConfig.tiny(pool_size=3, batch_size=2, n_steps_constant=2, n_steps_decay=10,
                              norm="batch")
    data = UnpairedDomains(torch.rand(24, 3, 8, 8, generator=g),
                           torch.rand(24, 3, 8, 8, generator=g) ** 2, seed=0)
    return (lambda: CycleGAN(cfg)), data


def _state_worker(rank: int, world: int, port: int, out: str, name: str) -> None:
    """Each rank: 6 steps straight; then 4 steps, a checkpoint (rank 0 writes it), and every
    rank resuming from that file for 2 more. Each rank saves its full state after each."""
    import torch.distributed as dist

    from pathlib import Path

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        make, data = _family(name)
        folder = Path(out)
        straight = make()
        fit(straight, data, steps=6, device="cpu", log_every=1)
        torch.save(straight.state_dict(), folder / f"straight-{rank}.pt")
        part = make()
        fit(part, data, steps=4, checkpoint_path=folder / "run" / "model", device="cpu",
            log_every=1)
        torch.save(part.state_dict(), folder / f"part-{rank}.pt")
        dist.barrier()  # rank 0 has written the checkpoint
        resumed = checkpoints.load(folder / "run" / "model", optimizer=True)
        fit(resumed, data, steps=2, device="cpu", log_every=1)
        torch.save(resumed.state_dict(), folder / f"resumed-{rank}.pt")
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _differences(a: dict, b: dict) -> list[str]:
    assert set(a) == set(b)
    return [k for k in a if not torch.equal(a[k], b[k])]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dcgan", "cyclegan"])
def test_every_rank_holds_the_same_state_and_a_distributed_resume_is_exact(tmp_path,
                                                                          monkeypatch, name):
    """Under data-parallel training every piece of state — weights, optimizer steps, BatchNorm
    buffers, CycleGAN's pools — is equal on both ranks after each run, and 4 steps + a resume
    from rank 0's checkpoint + 2 steps end exactly where 6 straight steps end. (Before, the
    ranks' BatchNorm statistics differed by 0.048 after 4 DCGAN steps and CycleGAN's pools by
    up to 0.88, and rank 0 alone saved them.)"""
    import sys
    import types

    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    mp.spawn(_state_worker, args=(2, _free_port(), str(tmp_path), name), nprocs=2, join=True)
    load = lambda f: torch.load(tmp_path / f, weights_only=True)  # noqa: E731
    for what in ("straight", "part", "resumed"):
        assert _differences(load(f"{what}-0.pt"), load(f"{what}-1.pt")) == [], what
    buffers = [k for k in load("part-0.pt") if "running_mean" in k or "pool" in k]
    assert buffers, "the family has no buffers to check"
    make, _ = _family(name)
    fresh = make().state_dict()
    assert _differences(fresh, load("part-0.pt"))  # training moved the state
    assert _differences(load("straight-0.pt"), load("resumed-0.pt")) == []


def _stop_worker(rank: int, world: int, port: int, out: str) -> None:
    """Rank 1 alone is asked to stop once 3 steps are done; rank 0 never is."""
    import json
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        model = ConvVAE(_config(8))
        res = fit(model, _data(), steps=20, device="cpu", log_every=1,
                  should_stop=lambda: rank == 1 and model.step_ >= 3)
        with open(f"{out}-{rank}.json", "w") as f:
            json.dump({"stopped": res.stopped, "step": model.step_}, f)
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_a_stop_asked_on_one_rank_stops_every_rank_after_the_same_step(tmp_path, monkeypatch):
    """Stop is decided jointly: a rank that stopped alone would leave the other waiting in its
    next all-reduce for ever. Both end stopped, after the same step."""
    import json
    import sys
    import types

    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    out = str(tmp_path / "stop")
    mp.spawn(_stop_worker, args=(2, _free_port(), out), nprocs=2, join=True)
    ends = [json.loads(open(f"{out}-{r}.json").read()) for r in (0, 1)]
    assert ends[0] == ends[1] == {"stopped": True, "step": 4}, ends
