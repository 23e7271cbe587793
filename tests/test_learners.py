"""One learner contract (issue 22, part 2, its test): whatever learns step by step trains through
the one ``fit`` loop and loads through the one loader. Three tiny stand-in families, registered
here and nowhere else — a gradient-trained line, an EM-fitted Gaussian mixture (no optimizer,
closed-form updates) and an evolution strategy (a population, no gradients, random mutations
from the model's own generator) — each train N steps, are stopped, are resumed from their
checkpoint for M more and end exactly where N + M uninterrupted steps end."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from unsup import checkpoints, families
from unsup.families import Family, Preset
from unsup.models.base import Model, register
from unsup.train import fit


# -- 1. gradient: a line through the origin, SGD ------------------------------------------------
@dataclass
class SlopeConfig:
    lr: float = 0.01
    batch_size: int = 8
    seed: int = 0


@register("learner_slope")
class Slope(Model):
    config_class = SlopeConfig

    def __init__(self, config: SlopeConfig):
        super().__init__(config)
        self.w = nn.Parameter(torch.zeros(1))
        self._opt = None

    def optimizers(self):
        if self._opt is None:
            self._opt = torch.optim.SGD(self.parameters(), lr=self.config.lr, momentum=0.9)
        return {"sgd": self._opt}

    def train_step(self, batch):
        loss = ((self.w * batch[:, 0] - batch[:, 1]) ** 2).mean()
        opt = self.optimizers()["sgd"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": float(loss.detach())}


# -- 2. EM: a two-component 1-D Gaussian mixture, one EM update per batch --------------------------
@dataclass
class MixtureConfig:
    batch_size: int = 16
    seed: int = 0
    step_size: float = 0.5  # stochastic EM: move this far towards the batch's M-step


@register("learner_mixture")
class Mixture(Model):
    config_class = MixtureConfig

    def __init__(self, config: MixtureConfig):
        super().__init__(config)
        self.register_buffer("mu", torch.tensor([-0.5, 0.5], dtype=torch.float64))
        self.register_buffer("var", torch.ones(2, dtype=torch.float64))
        self.register_buffer("pi", torch.full((2,), 0.5, dtype=torch.float64))

    def optimizers(self):
        return {}  # closed-form updates: nothing to save but the buffers

    @torch.no_grad()
    def train_step(self, batch):
        x = batch[:, 0].double()
        logp = (torch.log(self.pi) - 0.5 * torch.log(2 * torch.pi * self.var)
                - 0.5 * (x[:, None] - self.mu) ** 2 / self.var)  # (n, 2)
        r = torch.softmax(logp, 1)  # E-step
        nk = r.sum(0) + 1e-9
        mu = (r * x[:, None]).sum(0) / nk  # M-step
        var = (r * (x[:, None] - mu) ** 2).sum(0) / nk + 1e-3
        a = self.config.step_size
        self.mu.lerp_(mu, a)
        self.var.lerp_(var, a)
        self.pi.lerp_(nk / nk.sum(), a)
        return {"nll": float(-torch.logsumexp(logp, 1).mean())}


# -- 3. population: a (mu, lambda) evolution strategy towards a target point ----------------------
@dataclass
class EvolutionConfig:
    population: int = 12
    parents: int = 4
    sigma: float = 0.3
    dim: int = 3
    batch_size: int = 4  # the fitness is measured on a batch of targets (noisy, like a game)
    seed: int = 0


@register("learner_evolution")
class Evolution(Model):
    config_class = EvolutionConfig

    def __init__(self, config: EvolutionConfig):
        super().__init__(config)
        self.register_buffer("mean", torch.zeros(config.dim))
        self.register_buffer("best", torch.tensor(float("-inf")))

    def optimizers(self):
        return {}

    @torch.no_grad()
    def train_step(self, batch):
        c = self.config
        children = self.mean + c.sigma * self.randn(c.population, c.dim)  # model.rng: seeded
        fitness = -((children[:, None, :] - batch[None, :, :c.dim]) ** 2).sum(-1).mean(1)
        top = fitness.topk(c.parents).indices
        self.mean.copy_(children[top].mean(0))
        self.best.copy_(torch.maximum(self.best, fitness.max()))
        return {"loss": float(-fitness[top].mean())}


def _line_data():
    x = torch.randn(64, generator=torch.Generator().manual_seed(0))
    return torch.stack([x, 3.0 * x], 1)


def _mixture_data():
    g = torch.Generator().manual_seed(1)
    x = torch.cat([torch.randn(48, generator=g) * 0.3 - 2, torch.randn(48, generator=g) + 1.5])
    return x[:, None]


def _target_data():
    g = torch.Generator().manual_seed(2)
    return torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(40, 3, generator=g)


LEARNERS = {
    "gradient": (Slope, SlopeConfig, _line_data),
    "em": (Mixture, MixtureConfig, _mixture_data),
    "population": (Evolution, EvolutionConfig, _target_data),
}


def _family(kind: str) -> Family:
    cls, cfg, data = LEARNERS[kind]
    return Family(name=f"learner-{kind}", label=f"A {kind} stand-in", models=(cls,),
                  presets=(Preset(f"learner-{kind}", kind, kind, cls.kind, 12, {}, "toy"),),
                  build=lambda p: (cls(cfg()), data(), {"name": "toy"}),
                  data={"toy": "generated"})


@pytest.fixture(params=sorted(LEARNERS))
def learner(request):
    family = families.register(_family(request.param))
    yield request.param
    families.unregister(family.name)


N, M = 7, 5


def test_stop_resume_equals_an_uninterrupted_run(learner, tmp_path):
    cls, cfg, data = LEARNERS[learner]
    straight = cls(cfg())
    fit(straight, data(), steps=N + M, device="cpu", log_every=1)

    part = cls(cfg())
    path = tmp_path / learner / "model"
    res = fit(part, data(), steps=N + M, device="cpu", log_every=1, checkpoint_path=path,
              checkpoint_every=3, should_stop=lambda: part.step_ >= N)  # Stop after N steps
    assert res.stopped and part.step_ == N and res.checkpoint is not None
    resumed = checkpoints.load(path, optimizer=True)  # the one loader, no unpickling
    assert type(resumed) is cls and resumed.step_ == N
    fit(resumed, data(), steps=M, device="cpu", log_every=1)
    assert resumed.step_ == straight.step_ == N + M
    a, b = straight.state_dict(), resumed.state_dict()
    assert set(a) == set(b) and a
    assert all(torch.equal(a[k], b[k]) for k in a), {k: (a[k], b[k]) for k in a}
    moved = cls(cfg()).state_dict()
    assert any(not torch.equal(moved[k], a[k]) for k in a)  # it learnt something


def test_each_learner_learns(learner):
    cls, cfg, data = LEARNERS[learner]
    m = cls(cfg())
    res = fit(m, data(), steps=60, device="cpu", log_every=5)
    first, last = res.history[0], res.history[-1]
    key = next(iter(first.keys() - {"step"}))
    assert last[key] < first[key], (first, last)
