"""The one training loop. Every model family trains through :func:`fit`.

Resume is exact: the batch drawn at step ``s`` and the noise used inside that step depend only on
(seed, s), and the optimizer state and step counter travel in the checkpoint. So N steps, save,
load, M steps gives the same weights as N+M steps in one go.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import torch

from unsup import checkpoints
from unsup.models.base import Model


class Indexable(Protocol):
    """Training data: ``len(data)`` items; ``data[idx]`` with a LongTensor gives a batch tensor.

    A plain tensor of shape (n, ...) qualifies; so does a lazy generator such as dSprites.
    """

    def __len__(self) -> int: ...

    def __getitem__(self, idx: torch.Tensor) -> torch.Tensor: ...


def default_device() -> torch.device:
    """A GPU when one is present (under torchrun: the one of this process's local rank);
    nothing requires one."""
    if torch.cuda.is_available():
        import os

        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def distributed_world() -> tuple[int, int]:
    """(world size, rank) of a ``torch.distributed`` process group, (1, 0) without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def distributed_rank() -> int:
    return distributed_world()[1]


def _average_gradients_hook(world: int):
    """An optimizer pre-step hook: all-reduce (sum) every gradient across the processes and
    divide by their number, so each process steps with the gradient of the whole global batch —
    the averaging DistributedDataParallel does, placed before ``step`` because each model owns
    its optimizers and its ``train_step`` (a GAN steps two optimizers in one step)."""
    import torch.distributed as dist

    def hook(opt, args, kwargs):
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= world
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    return hook


def _broadcast_state(model: Model) -> None:
    """Make every process start from rank 0's weights."""
    import torch.distributed as dist

    for t in model.state_dict().values():
        dist.broadcast(t, src=0)


def _sync_buffers(model: Model) -> None:
    """Make every buffer equal to rank 0's after a step: gradients are averaged, so weights and
    optimizer states stay equal by themselves, but buffers a step changes from the local half
    batch (BatchNorm running statistics, CycleGAN's pools of past fakes, an averaged generator's
    statistics) would drift apart, and rank 0 alone saves: without this a distributed resume
    would not be exact. Rank 0's buffers are what a resume restores on every rank."""
    import torch.distributed as dist

    for b in model.buffers():
        dist.broadcast(b, src=0)


def _joint(losses: dict[str, float], stop: bool, world: int) -> tuple[dict[str, float], bool]:
    """The step's losses averaged over the ranks and whether any rank was asked to stop, the
    same on every rank: the divergence watch and Stop then decide the same everywhere (a rank
    that stopped alone would leave the others waiting in the next all-reduce)."""
    import torch.distributed as dist

    keys = sorted(losses)
    t = torch.tensor([float(losses[k]) for k in keys] + [1.0 if stop else 0.0],
                     dtype=torch.float64)
    flag = t[-1:].clone()
    dist.all_reduce(t)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return {k: float(v) / world for k, v in zip(keys, t[:-1].tolist())}, bool(flag.item() > 0)


def time_steps(model: Model, batch: Callable[[int], torch.Tensor], n: int = 3,
               warmup: int = 1) -> float:
    """Seconds per training step of ``model``, measured now on this machine: ``warmup`` steps
    (lazy set-up, first-call costs), then ``n`` timed ones; ``batch(i)`` gives the i-th batch
    (data making included in the time where the family's job pays for it too). What every
    Train form's estimate is computed from (never a typed-in rate)."""
    model.optimizers()
    with torch.enable_grad():  # the caller may run under no_grad
        for i in range(warmup):
            model.train_step(batch(i))
        t0 = time.perf_counter()
        for i in range(warmup, warmup + n):
            model.train_step(batch(i))
        return (time.perf_counter() - t0) / max(1, n)


def batch_indices(n: int, batch_size: int, step: int, seed: int) -> torch.Tensor:
    """Indices of the batch for ``step``: epochs are seeded permutations, last partial batch
    dropped (so every batch has ``batch_size`` items)."""
    per_epoch = max(1, n // batch_size)
    epoch, k = divmod(step, per_epoch)
    return _epoch_permutation(n, seed, epoch)[k * batch_size:(k + 1) * batch_size].clone()


@functools.lru_cache(maxsize=4)
def _epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The seeded order of one epoch (kept: drawing 700,000 indices every step costs ~5 ms)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


def step_seed(seed: int, step: int) -> int:
    return (seed * 2_654_435_761 + step * 97 + 12_345) % (2**63 - 1)


@dataclass
class Progress:
    """What ``on_progress`` receives every ``log_every`` steps."""

    step: int  # steps done so far, counting steps from before a resume
    total: int  # step the run will end at
    losses: dict[str, float]  # mean of each logged loss over the last ``log_every`` steps
    seconds: float  # wall time of this fit call so far (from its first step)


@dataclass
class FitResult:
    steps_done: int
    stopped: bool
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    checkpoint: Path | None = None


def fit(model: Model, data: Indexable, *, steps: int,
        on_progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        checkpoint_every: int = 0, checkpoint_path: str | Path | None = None,
        card: dict[str, Any] | None = None, log_every: int = 10,
        device: torch.device | str | None = None) -> FitResult:
    """Train ``model`` for ``steps`` more steps on ``data``.

    Parameters
    ----------
    model : Model
        Starts at ``model.step_`` (0 for a new model, the card's step for a loaded checkpoint).
    data : Indexable
        Training items, see :class:`Indexable`; batches come from ``batch_indices``.
    steps : int
        How many steps to run in this call.
    on_progress : callable, optional
        Called with a :class:`Progress` every ``log_every`` steps and at the end.
    should_stop : callable, optional
        Checked before every step and before every save; when it returns True the loop ends
        (and saves, if a checkpoint path is set). It may raise ``InterruptedError`` to end the
        run at once without writing anything more (a job the runner has already ended).
    checkpoint_every : int
        Save every this many steps (0: only at the end).
    checkpoint_path : path, optional
        Where :func:`unsup.checkpoints.save` writes; None: do not save.
    card : dict, optional
        Extra card fields (title, data fingerprint, command, ...) merged into each save.
    """
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    model.optimizers()  # create optimizers after moving parameters
    bs, seed = model.batch_size, model.seed
    start = int(model.step_)
    end = start + int(steps)
    n = len(data)
    world, rank = distributed_world()
    if n < bs * world:
        bs = max(1, n // world)
    hooks = []
    if world > 1:  # data-parallel: each process takes its slice of a global batch of bs * world
        _broadcast_state(model)
        hooks = [opt.register_step_pre_hook(_average_gradients_hook(world))
                 for opt in model.optimizers().values()]
        checkpoint_path = checkpoint_path if rank == 0 else None  # rank 0 alone writes
    history: list[dict[str, float]] = []
    window: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    stopped = False
    saved: Path | None = None

    # the best monitored loss of the run so far, also of an earlier call (a resume): from its
    # "best" copy, else from the card of the checkpoint it resumes (the "watch" each save writes)
    best_saved = [_carried_best(model, checkpoint_path)]
    last_losses: dict[str, float] = {}  # of the latest step

    def save_now() -> Path | None:
        """Save "last" (resumable); while the monitored loss is at its best, also a "best"
        copy beside it (weights only), so that a run that later goes bad keeps its best state.
        A run that is going bad (its losses far above their best or absurd, or a weight not
        finite) saves nothing: its last good "last" checkpoint is kept."""
        if checkpoint_path is None:
            return None
        if should_stop is not None:
            should_stop()  # raises when nothing may be written any more
        if watch.alarming(last_losses) or not _finite_weights(model):
            return saved
        extra = dict(card or {})
        secs = extra.pop("seconds", 0.0) or 0.0
        c = checkpoints.make_card(model, step=model.step_, seconds=secs + time.perf_counter() - t0,
                                  **{k: v for k, v in extra.items() if k in _CARD_ARGS})
        c.update({k: v for k, v in extra.items() if k not in _CARD_ARGS})
        if watch.key is not None and math.isfinite(watch.best):
            c["watch"] = {"key": watch.key, "best": float(watch.best)}  # carried to a resume
        path = checkpoints.save(model, checkpoint_path, c)
        now = watch.last if watch.key is not None and watch.last is not None else None
        if now is not None and now <= best_saved[0] and math.isfinite(now):
            best_saved[0] = now
            title = c.get("title") or Path(checkpoint_path).parent.name
            checkpoints.save(model, best_path(path), {
                **c, "title": f"{title} — best so far (step {model.step_:,})",
                "name": None, "best_of": path.name,
                "monitor": {watch.key: round(float(now), 4)}}, optimizer=False)
        return path

    watch = DivergenceWatch(getattr(model, "monitor", "loss"))
    carried = min(best_saved[0], _card_best(model, watch.key))
    if math.isfinite(carried):  # a resumed run: its best so far is the yardstick
        watch.best, watch.warmup = carried, 0

    def report() -> None:
        if not window:
            return
        means = {k: sum(v) / len(v) for k, v in window.items()}
        history.append({"step": model.step_, **means})
        window.clear()
        if on_progress is not None:
            on_progress(Progress(model.step_, end, means, time.perf_counter() - t0))
        why = watch.update(means)
        if why:
            raise DivergedError(f"training diverged at step {model.step_}: {why}. {kept()}; "
                                "lower the learning rate")

    def kept() -> str:
        """What a diverged run keeps (said in its message)."""
        if checkpoint_path is not None and checkpoints.weights_path(checkpoint_path).exists():
            return "The last checkpoint saved before it is kept"
        return "Nothing of this run was saved"

    def check_end() -> None:
        """A run that ends (or is stopped) while going bad ends as diverged, unsaved."""
        why = watch.alarm(last_losses) or (None if _finite_weights(model) else
                                           "a weight is no longer finite")
        if why:
            raise DivergedError(f"training diverged by step {model.step_}: {why}. {kept()}; "
                                "lower the learning rate")

    def run() -> None:
        nonlocal stopped, saved
        step = start
        while step < end:
            if world == 1 and should_stop is not None and should_stop():
                stopped = True
                break
            idx = batch_indices(n, bs * world, step, seed)[rank * bs:(rank + 1) * bs]
            batch = data[idx].to(device, non_blocking=True)
            model.rng.manual_seed(step_seed(seed, step) + 7_919 * rank)
            losses = model.train_step(batch)
            stop_after = False
            if world > 1:  # equal state and joint decisions on every rank
                _sync_buffers(model)
                losses, stop_after = _joint(
                    losses, should_stop is not None and bool(should_stop()), world)
            last_losses.clear()
            last_losses.update(losses)
            for k, v in losses.items():
                window.setdefault(k, []).append(v)
            if any(not math.isfinite(v) for v in losses.values()):
                window.clear()
                raise DivergedError(
                    f"training diverged at step {step + 1} (a loss became "
                    f"{next(v for v in losses.values() if not math.isfinite(v))}). {kept()}; "
                    "lower the learning rate")
            step += 1
            model.step_ = step
            if step % log_every == 0 or step == start + 1:  # the first step at once: it is
                report()                                     # the slowest (lazy set-up)
            if checkpoint_every and step % checkpoint_every == 0 and step < end:
                saved = save_now()
            if stop_after:  # asked on some rank during this step: every rank stops after it
                stopped = True
                break
        report()
        check_end()

    try:
        with torch.enable_grad():  # a caller (a page's thread, a loaded model) may have turned
            run()                  # gradients off; training needs them
    finally:
        for h in hooks:
            h.remove()
    model.eval()
    if checkpoint_path is not None:
        saved = save_now()
    return FitResult(model.step_ - start, stopped, time.perf_counter() - t0, history, saved)


def _carried_best(model: Model, checkpoint_path: str | Path | None) -> float:
    """The monitored loss of the run's "best" copy beside ``checkpoint_path`` (inf: none)."""
    if checkpoint_path is None or not best_path(checkpoint_path).exists():
        return _card_best(model, getattr(model, "monitor", "loss"))
    try:
        prior = checkpoints.read_card(best_path(checkpoint_path)).get("monitor") or {}
        return float(next(iter(prior.values()), math.inf))
    except (checkpoints.CheckpointError, TypeError, ValueError):
        return _card_best(model, getattr(model, "monitor", "loss"))


def _card_best(model: Model, key: str | None) -> float:
    """The best monitored loss the card of a loaded (resumed) model carries (inf: none)."""
    w = (getattr(model, "card_", None) or {}).get("watch") or {}
    try:
        best = float(w.get("best")) if key is not None and w.get("key") == key else math.inf
    except (TypeError, ValueError):
        return math.inf
    return best if math.isfinite(best) else math.inf


def _finite_weights(model: Model) -> bool:
    with torch.no_grad():
        return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def best_path(weights: str | Path) -> Path:
    """Where :func:`fit` keeps the best checkpoint of the run whose last one is ``weights``."""
    w = checkpoints.weights_path(weights)
    return w.with_name(f"{w.stem}.best.safetensors")


class DivergedError(FloatingPointError):
    """Training stopped because its loss became non-finite or ran away; the message says
    what happened and what to do."""


ABSURD_LOSS = 1e6
"""The magnitude no logged loss of a model without a monitored loss (a GAN) reaches while it
trains (:class:`DivergenceWatch`)."""


class DivergenceWatch:
    """Flags a run whose monitored loss ran away: after ``warmup`` reports, ``patience``
    reports in a row far above the running best (more than ``factor`` times the best's scale
    above it) without coming back down. The best comes from the run so far, or, for a resumed
    run, from the run it continues (:func:`fit` carries it in the card of every save).

    ``key`` None (adversarial losses, which have no "best": a GAN's losses rise and fall as its
    two players take turns) watches magnitudes instead: a report in which any logged loss
    exceeds ``limit`` in absolute value. The seven GAN losses of this project are, per item,
    log-likelihoods of a discriminator's guess (a few nats at worst: -log of a sigmoid), squared
    or hinged scores and Wasserstein critic values of networks whose outputs stay within tens,
    and BEGAN's L1 reconstruction of images in [0, 1]. Measured on the 2-D ring with each of
    the seven losses and the lab's settings (600-2,000 steps from a fresh model, where the
    losses swing the most): no logged value above 11 (DRAGAN's d_loss 10.3, WGAN-GP's 6.2, the
    others under 2). 10^6 leaves five orders of magnitude for image models and long runs, yet a
    run at a learning rate of 10^3 passes it within tens of steps (d_loss 8.2e33 in the issue's
    trial). Non-finite losses and weights are caught for every model."""

    def __init__(self, key: str | None = "loss", factor: float = 4.0, patience: int = 3,
                 warmup: int = 5, limit: float = ABSURD_LOSS):
        self.key, self.factor, self.patience, self.warmup = key, factor, patience, warmup
        self.limit = limit
        self.best, self.last, self.n = math.inf, None, 0
        self.far: list[float] = []  # the current run of reports far above the best

    def _absurd(self, values: dict[str, float]) -> str | None:
        for k, v in values.items():
            if k != "lr" and abs(float(v)) > self.limit:
                return f"{k} reached {float(v):.3g}, beyond ±{self.limit:.0e}"
        return None

    def alarm(self, losses: dict[str, float] | None = None) -> str | None:
        """Why the run is going bad now (None: it is not): its last report was far above the
        best, or ``losses`` (one step's) are absurd or far above the best. Unlike
        :meth:`update` this does not wait for ``patience``: it keeps a save from writing weights
        that are on their way out."""
        losses = losses or {}
        if self.key is None:
            return self._absurd(losses)
        v = losses.get(self.key)
        if self.far:
            return (f"{self.key} {self.far[-1]:.4g} is far above its best {self.best:.4g}")
        if v is not None and math.isfinite(self.best) and self._is_far(float(v)):
            return f"{self.key} {float(v):.4g} is far above its best {self.best:.4g}"
        return None

    def alarming(self, losses: dict[str, float] | None = None) -> bool:
        return self.alarm(losses) is not None

    def _is_far(self, v: float) -> bool:
        return v > self.best + self.factor * max(abs(self.best), 1.0)

    def update(self, means: dict[str, float]) -> str | None:
        if self.key is None:
            return self._absurd(means)
        if self.key not in means:
            return None
        v = float(means[self.key])
        self.n += 1
        self.last = v
        if v < self.best:
            self.best, self.far = v, []
            return None
        if self._is_far(v):
            self.far.append(v)
        else:
            self.far = []
        if (self.n > self.warmup and len(self.far) >= self.patience
                and v >= 0.5 * min(self.far)):
            return (f"{self.key} {v:.4g} has stayed far above its best {self.best:.4g} for "
                    f"{len(self.far)} reports")
        return None


_CARD_ARGS = {"metrics", "data", "command", "title", "description", "extra"}
