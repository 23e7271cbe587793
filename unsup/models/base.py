"""The one model contract (DESIGN.md, "One contract for every model").

Every trainable model in unsup is a :class:`Model`:

- it is built from a ``@dataclass`` config (``model.config``) and registered under a ``kind``
  string, so a checkpoint card (kind + config) is enough to rebuild it without unpickling;
- it owns its optimizers and exposes ``train_step(batch) -> dict[str, float]`` (a GAN steps D then
  G inside it), so :func:`unsup.train.fit` is the only training loop;
- randomness inside a step (reparameterization noise, corruption noise) is drawn from
  ``self.rng``, which ``fit`` reseeds from (seed, step) before every step: N steps, save, load,
  M steps gives exactly the same weights as N+M steps.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn


def warmup_cosine(step: int, lr: float, warmup: int, decay_start: int = 0,
                  decay_end: int = 0) -> float:
    """Learning rate of step ``step`` (0-based): linear warm-up over ``warmup`` steps, constant,
    then (when ``decay_end > decay_start``) a half cosine from ``lr`` at ``decay_start`` to 0 at
    ``decay_end``. A function of the step alone, so a resumed run follows it exactly."""
    out = float(lr) * min(1.0, (step + 1) / max(1, int(warmup)))
    a, b = int(decay_start), int(decay_end)
    if b > a and step >= a:
        out *= 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - a) / (b - a))))
    return out


def register(kind: str):
    """Class decorator: name the card ``kind`` of ``cls`` (its checkpoints say this kind).

    Which class a kind loads as is decided by the family registry (:mod:`unsup.families`), where
    every family lists its model classes once; this decorator only stamps the name.
    """

    def wrap(cls: type[Model]) -> type[Model]:
        cls.kind = kind
        return cls

    return wrap


class Model(nn.Module):
    """Base class: a config, an RNG for in-step noise, optimizers, and ``train_step``.

    Subclasses set ``config_class`` and implement ``__init__(config)``, ``train_step`` and
    ``optimizers``; generative ones add ``encode``, ``decode`` and ``sample``.

    State attached by :func:`unsup.train.fit` and the checkpoint loader:

    - ``step_``: optimisation steps done (0 for a new model, the card's step after a load);
    - ``card_``: the checkpoint card it was loaded from ({} for a new model);
    - ``path_``: the weights file it was loaded from (None for a new model).
    """

    kind: ClassVar[str] = "model"
    config_class: ClassVar[type]
    step_: int
    card_: dict[str, Any]
    path_: Path | None

    def __init__(self, config: Any):
        super().__init__()
        self.config = config
        self.rng = torch.Generator().manual_seed(int(getattr(config, "seed", 0)))
        self.step_ = 0
        self.card_ = {}
        self.path_ = None

    @property
    def batch_size(self) -> int:
        """Items per training step (the config's ``batch_size``; 64 if it has none)."""
        return int(getattr(self.config, "batch_size", 64))

    @property
    def seed(self) -> int:
        """Seed of the weights, the batch order and the in-step noise (the config's)."""
        return int(getattr(self.config, "seed", 0))

    # -- training ---------------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Named optimizers, saved and restored with resumable checkpoints."""
        raise NotImplementedError

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One optimisation step on ``batch``; returns the losses to log (floats)."""
        raise NotImplementedError

    # -- finished checkpoints ---------------------------------------------------------------
    store_half: ClassVar[bool] = False
    """Finished checkpoints of this model store its float32 tensors as float16 (half the
    size; loading turns them back into float32). Its preset's evaluation measures the rounded
    weights, so the card describes exactly what is stored."""

    def round_to_stored(self) -> None:
        """Round every float32 parameter and buffer through float16 (what a finished
        checkpoint of a ``store_half`` model keeps); nothing for other models."""
        if not self.store_half:
            return
        with torch.no_grad():
            for t in list(self.parameters()) + list(self.buffers()):
                if t.dtype == torch.float32:
                    t.copy_(t.half().float())

    def compact_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The tensors a *finished* checkpoint (no optimizer state, never resumed exactly)
        needs: by default all of ``state``. A model may leave out what it can rebuild from the
        rest (:meth:`complete_state` puts it back on load)."""
        return state

    def complete_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The inverse of :meth:`compact_state`, applied to every loaded state."""
        return state

    # -- helpers ----------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        """Where its tensors live (a learner without parameters, e.g. a population or a
        mixture fitted by EM, has only buffers; one with neither is on the CPU)."""
        for t in self.parameters():
            return t.device
        for t in self.buffers():
            return t.device
        return torch.device("cpu")

    def optimizer_state(self) -> dict[str, Any]:
        return {name: opt.state_dict() for name, opt in self.optimizers().items()}

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        for name, opt in self.optimizers().items():
            if name in state:
                opt.load_state_dict(state[name])

    def randn(self, *shape: int) -> torch.Tensor:
        """Standard normal noise from the model's own generator, on the model's device."""
        return torch.randn(*shape, generator=self.rng).to(self.device)

    def rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=self.rng).to(self.device)


@torch.no_grad()
def record_frame(frames: torch.Tensor, steps: torch.Tensor, interval: torch.Tensor, step: int,
                 draw) -> None:
    """A fixed-size timelapse (buffers ``frames`` (F, ...), ``steps`` (F,), -1 = empty, and
    ``interval``, a scalar): store ``draw()`` as the frame of ``step`` if it is due; when the
    store is full, every other frame is dropped and the interval doubles, so any run length ends
    with evenly spaced frames."""
    used = int((steps >= 0).sum())
    if used and step % int(interval) != 0:
        return
    if used and int(steps[used - 1]) >= step:
        return
    if used == len(steps):
        keep = torch.arange(0, used, 2, device=steps.device)
        k = len(keep)
        frames[:k] = frames[keep].clone()
        steps[:k] = steps[keep].clone()
        steps[k:] = -1
        interval.mul_(2)
        used = k
        if step % int(interval) != 0:
            return
    frames[used] = draw().to(frames.device)
    steps[used] = step

