"""Glow (unsup.models.glow): the exact likelihood is exact, the flow inverts, the density
normalises, training lowers held-out bits/dim, checkpoints round-trip and resume exactly, and
temperature sampling is finite and seeded. Tiny configs (8x8 or 2x2 images) except the
invertibility check, which runs at the shipped 28x28 size."""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch

from unsup import checkpoints
from unsup.data.images import load_split
from unsup.models.glow import ActNorm, Glow, GlowConfig
from unsup.train import fit


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _digits8(split: str = "train") -> torch.Tensor:
    s = load_split("digits8")
    return torch.from_numpy((s.x_train if split == "train" else s.x_test).copy())


def _trained_tiny(steps: int = 5, **overrides) -> Glow:
    """A tiny Glow after a few steps on the 8x8 digits (ActNorm initialised), then every
    parameter nudged at random, so that no layer sits at its (zero / identity) start."""
    model = Glow(dataclasses.replace(GlowConfig.tiny(), **overrides))
    fit(model, _digits8(), steps=steps, device="cpu", log_every=steps)
    g = torch.Generator().manual_seed(123)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return model.eval()


def _flat_map(model: Glow, shape: tuple[int, ...]):
    def f(v: torch.Tensor) -> torch.Tensor:
        eps, _ = model.encode(v.view(1, *shape))
        return model.flatten(eps)[0]

    return f


# -- 1. the log-determinant is exact ------------------------------------------------------------
@pytest.mark.parametrize("floor", [0.0, 0.1])
def test_logdet_matches_a_brute_force_jacobian(floor):
    """log|det J| of the whole map x -> (eps_1, eps_2) (two levels: squeeze, actnorm, LU 1x1
    convs, couplings — with the plain sigmoid scale and with a floor —, the split's learned
    conditional prior, the learned top) equals the flow's own logdet, in float32 (1e-3) and,
    for the same weights in float64, to 1e-7; and log_prob is the standard-normal log-density
    of the map's output plus that determinant."""
    model = _trained_tiny(scale_floor=floor)
    shape = (1, 8, 8)
    x = _digits8("test")[:3] * 0.9 + 0.05 * torch.rand(3, *shape,
                                                     generator=torch.Generator().manual_seed(1))
    model64 = copy.deepcopy(model).double()
    for i in range(len(x)):
        xi = x[i:i + 1]
        j32 = torch.autograd.functional.jacobian(_flat_map(model, shape), xi.flatten())
        j64 = torch.autograd.functional.jacobian(_flat_map(model64, shape),
                                                 xi.double().flatten())
        assert j64.shape == (64, 64)
        sign, brute = torch.linalg.slogdet(j64)
        assert float(sign) != 0.0
        _, ld32 = model.encode(xi)
        _, ld64 = model64.encode(xi.double())
        assert abs(float(ld64.detach()) - float(brute)) < 1e-7, (float(ld64.detach()), float(brute))
        assert abs(float(ld32.detach()) - float(brute)) < 1e-3, (float(ld32.detach()), float(brute))
        assert abs(float(torch.linalg.slogdet(j32)[1]) - float(brute)) < 1e-3
        z = _flat_map(model64, shape)(xi.double().flatten())
        by_hand = float(-0.5 * (z.detach() ** 2).sum() - 0.5 * z.numel() * math.log(2 * math.pi)
                        + brute)
        assert abs(float(model64.log_prob(xi.double()).detach()) - by_hand) < 1e-7
        assert abs(float(model.log_prob(xi).detach()) - by_hand) < 1e-3


def test_the_scale_floor_bounds_what_the_inverse_amplifies():
    """A coupling whose network asks for a scale near 0 (raw -> -inf): the plain sigmoid's
    inverse multiplies a float32 rounding of the output by ~e^20, the floored one by at most
    1/floor, and both are exact inverses in float64."""
    from unsup.models.glow import AffineCoupling

    for floor, bound in ((0.0, None), (0.1, 10.0)):
        cp = AffineCoupling(4, 8, floor).double()
        cp._shift_scale = lambda x_a: (torch.zeros_like(x_a), torch.full_like(x_a, -20.0))
        x = torch.randn(1, 4, 3, 3, dtype=torch.float64)
        y, _ = cp(x)
        assert float((cp.reverse(y) - x).abs().max()) < 1e-9
        y_off = y.clone()
        y_off[:, 2:] += 1e-7  # a float32-sized error in the coupled half
        gain = float((cp.reverse(y_off) - x).abs().max()) / 1e-7
        if bound is None:
            assert gain > 1e6
        else:
            assert gain <= bound * (1 + 1e-6)


# -- 2. invertibility at the shipped size -------------------------------------------------------
def test_decode_inverts_encode_at_the_shipped_size():
    """max |x - decode(encode(x))| <= 1e-4 in float32 for the 28x28, two-level, K = 8 model
    after ten steps on MNIST (ActNorms initialised, zero-initialised layers moved) and a small
    random nudge of every weight, on held-out digits and on noise images."""
    model = Glow(dataclasses.replace(GlowConfig(), warmup=1, batch_size=32))
    split = load_split("mnist")
    fit(model, torch.from_numpy(split.x_train.copy()), steps=10, device="cpu", log_every=10)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=g))
    model.eval()
    x = torch.cat([torch.from_numpy(split.x_test[:100].copy()),
                   torch.rand(20, 1, 28, 28, generator=g)])
    with torch.no_grad():
        eps, logdet = model.encode(x)
        back = model.decode(eps)
    assert [tuple(e.shape[1:]) for e in eps] == [(2, 14, 14), (8, 7, 7)] == model.shapes
    assert sum(e[0].numel() for e in eps) == 28 * 28
    assert torch.isfinite(logdet).all()
    err = float((x - back).abs().max())
    assert err <= 1e-4, err
    flat = model.flatten(eps)
    assert all(torch.equal(a, b) for a, b in zip(model.unflatten(flat), eps))


# -- 3. a density, and one that learns ----------------------------------------------------------
def test_the_density_integrates_to_one():
    """On 2x2 images (D = 4: the 8x8 digits averaged over 4x4 blocks; one level of two steps,
    200 training steps), importance sampling from a broad Gaussian fitted to the model's own
    samples gives integral p(x) dx = 1 within 3 % (the estimate's standard error is ~0.5 %).
    The proposal and log_prob share only the weights: a wrong log-determinant term moves the
    integral away from 1."""
    model = Glow(GlowConfig(image_size=2, n_levels=1, n_steps=2, hidden=8, batch_size=64,
                            warmup=1, lr=5e-3))
    data = torch.nn.functional.avg_pool2d(_digits8(), 4)  # (n, 1, 2, 2)
    fit(model, data, steps=200, device="cpu", log_every=100)
    model.eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        eps = [torch.randn(20_000, *model.shapes[0], generator=g)]
        s = model.decode(eps).flatten(1).double()  # (n, 4) samples of the model
        mean, cov = s.mean(0), torch.cov(s.T) * 4.0  # twice the std in every direction
        q = torch.distributions.MultivariateNormal(mean, cov)
        xs = q.sample((200_000,))
        log_w = model.log_prob(xs.float().view(-1, 1, 2, 2)).double() - q.log_prob(xs)
        z = float(torch.exp(log_w).mean())
        assert float(model.log_prob(data[:100]).mean()) > 2.0  # a peaked, learnt density
    assert abs(z - 1.0) < 0.03, z


def test_training_lowers_held_out_bits_per_dim():
    """300 steps on the 8x8 digits: held-out bits/dim (fixed dequantization noise) falls well
    below its value at the start; it is finite, per image, and deterministic."""
    model = Glow(dataclasses.replace(GlowConfig.tiny(), lr=2e-3))
    test = _digits8("test")
    fit(model, _digits8(), steps=1, device="cpu")  # ActNorm initialised on the first batch
    before = model.bits_per_dim(test, noise_seed=0)
    assert before.shape == (len(test),) and torch.isfinite(before).all()
    fit(model, _digits8(), steps=299, device="cpu", log_every=50)
    after = model.bits_per_dim(test, noise_seed=0)
    assert torch.isfinite(after).all()
    assert float(after.mean()) < float(before.mean()) - 0.5, (before.mean(), after.mean())
    assert torch.equal(after, model.bits_per_dim(test, noise_seed=0))
    # the noise does not depend on the batching (the sums may differ by float rounding)
    assert torch.allclose(after, model.bits_per_dim(test, noise_seed=0, batch_size=7),
                          atol=1e-5)
    assert not torch.equal(after, model.bits_per_dim(test, noise_seed=1))


def test_bits_per_dim_is_the_change_of_variables_by_hand():
    """bpd = (-log p(x_deq) + D log 256) / (D log 2) with x_deq = (round(255 x) + u) / 256."""
    model = _trained_tiny(steps=2)
    x = _digits8("test")[:4]
    u = torch.rand(x.shape, generator=torch.Generator().manual_seed(5))
    x_deq = (torch.round(x * 255) + u) / 256
    d = 64
    want = (-model.log_prob(x_deq) + d * math.log(256)) / (d * math.log(2))
    got = model.bits_per_dim(x, noise_seed=5)
    assert torch.allclose(got, want.detach(), atol=1e-5)


# -- 4. checkpoints ---------------------------------------------------------------------------
def _actnorms(model: Glow) -> list[ActNorm]:
    return [m for m in model.modules() if isinstance(m, ActNorm)]


def test_save_load_round_trips_exactly(tmp_path):
    """Same bits/dim after a load; the ActNorms come back initialised and a training-mode pass
    over a very different batch leaves them as they are."""
    model = Glow(GlowConfig.tiny())
    fit(model, _digits8(), steps=5, device="cpu", log_every=5)
    test = _digits8("test")[:40]
    want = model.bits_per_dim(test, noise_seed=3)
    path = checkpoints.save(model, tmp_path / "glow", checkpoints.make_card(model, step=5))
    loaded = checkpoints.load(path)
    assert type(loaded) is Glow and loaded.step_ == 5
    assert torch.equal(loaded.bits_per_dim(test, noise_seed=3), want)
    assert all(int(a.initialized) == 1 for a in _actnorms(loaded))
    before = {k: v.clone() for k, v in loaded.state_dict().items()}
    loaded.train()
    with torch.no_grad():
        loaded.encode(3.0 * torch.rand(16, 1, 8, 8))  # would re-initialise a fresh ActNorm
    after = loaded.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    fresh = Glow(GlowConfig.tiny()).train()
    with torch.no_grad():
        fresh.encode(3.0 * torch.rand(16, 1, 8, 8))
    assert all(int(a.initialized) == 1 for a in _actnorms(fresh))  # (the flag does work)


def test_fit_resume_equals_an_uninterrupted_run(tmp_path):
    """N steps, save, load with the optimizer, M more == N + M straight (weights, ActNorm
    flags, the learning-rate warm-up position, Adam's moments)."""
    n, m = 4, 3
    data = _digits8()
    straight = Glow(GlowConfig.tiny())
    fit(straight, data, steps=n + m, device="cpu", log_every=1)

    part = Glow(GlowConfig.tiny())
    path = tmp_path / "run" / "model"
    res = fit(part, data, steps=n + m, device="cpu", log_every=1, checkpoint_path=path,
              checkpoint_every=2, should_stop=lambda: part.step_ >= n)
    assert res.stopped and part.step_ == n
    resumed = checkpoints.load(path, optimizer=True)
    assert type(resumed) is Glow and resumed.step_ == n
    fit(resumed, data, steps=m, device="cpu", log_every=1)
    assert resumed.step_ == straight.step_ == n + m
    a, b = straight.state_dict(), resumed.state_dict()
    assert set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    start = Glow(GlowConfig.tiny()).state_dict()
    assert any(not torch.equal(start[k], a[k]) for k in a)


# -- 5. sampling -------------------------------------------------------------------------------
def test_temperature_sampling_is_finite_seeded_and_in_range():
    model = _trained_tiny(steps=3)
    a = model.sample(12, temperature=0.7, seed=4)
    assert a.shape == (12, 1, 8, 8) and torch.isfinite(a).all()
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(a, model.sample(12, temperature=0.7, seed=4))
    assert not torch.equal(a, model.sample(12, temperature=0.7, seed=5))
    cold = model.sample(12, temperature=0.0, seed=4)  # T = 0: the prior's mean, whatever seed
    assert torch.equal(cold, model.sample(12, temperature=0.0, seed=9))
    assert not torch.equal(cold, a)


def test_config_rejects_sizes_the_levels_cannot_squeeze():
    with pytest.raises(ValueError):
        Glow(GlowConfig(image_size=28, n_levels=3))
