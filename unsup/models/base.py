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

import importlib
from typing import Any, ClassVar

import torch
from torch import nn

MODEL_KINDS: dict[str, type["Model"]] = {}

# Modules that register model kinds; imported lazily by get_model_class so that loading a
# checkpoint never needs the caller to know which module defines its kind.
_KIND_MODULES = (
    "unsup.models.vae",
    "unsup.models.classifier",
    "unsup.models.betavae",
)


def register(kind: str):
    """Class decorator: make ``cls`` loadable from checkpoints whose card says ``kind``."""

    def wrap(cls: type[Model]) -> type[Model]:
        cls.kind = kind
        MODEL_KINDS[kind] = cls
        return cls

    return wrap


def get_model_class(kind: str) -> type["Model"]:
    """The class registered for ``kind``; raises ``KeyError`` with the known kinds otherwise."""
    if kind not in MODEL_KINDS:
        for name in _KIND_MODULES:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:  # a family not written yet
                if exc.name != name:
                    raise
    if kind not in MODEL_KINDS:
        raise KeyError(f"unknown model kind {kind!r}; known: {sorted(MODEL_KINDS)}")
    return MODEL_KINDS[kind]


class Model(nn.Module):
    """Base class: a config, an RNG for in-step noise, optimizers, and ``train_step``.

    Subclasses set ``config_class`` and implement ``__init__(config)``, ``train_step`` and
    ``optimizers``; generative ones add ``encode``, ``decode`` and ``sample``.
    """

    kind: ClassVar[str] = "model"
    config_class: ClassVar[type]

    def __init__(self, config: Any):
        super().__init__()
        self.config = config
        self.rng = torch.Generator().manual_seed(int(getattr(config, "seed", 0)))

    # -- training ---------------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Named optimizers, saved and restored with resumable checkpoints."""
        raise NotImplementedError

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One optimisation step on ``batch``; returns the losses to log (floats)."""
        raise NotImplementedError

    # -- helpers ----------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

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
