"""The VAE for 8-bit digits (unsup.models.dlvae) and its bounds recipe (unsup.recipes.bounds):
the discretized logistic is a distribution over the 256 levels, the IWAE bound is tighter than
the ELBO and a one-sample IWAE is an ELBO estimate, training lowers held-out bits/dim, a
stopped-and-resumed run equals an uninterrupted one, and the shipped card's numbers recompute.
Tiny configs on the 8x8 digits, except the shipped model's check."""

from __future__ import annotations

import math

import pytest
import torch

from unsup import checkpoints, paths
from unsup.data.images import load_split
from unsup.models.dlvae import (DLVAE, DLVAEConfig, discretized_logistic_logp,
                                discretized_logistic_mean, to_levels)
from unsup.train import fit


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _digits8(split: str = "train") -> torch.Tensor:
    s = load_split("digits8")
    return torch.from_numpy((s.x_train if split == "train" else s.x_test).copy())


_TRAINED: dict[int, DLVAE] = {}


def _trained_tiny(steps: int = 300) -> DLVAE:
    """A tiny DLVAE after ``steps`` steps on the 8x8 training digits (cached per step count)."""
    if steps not in _TRAINED:
        model = DLVAE(DLVAEConfig.tiny(lr=3e-3))
        fit(model, _digits8(), steps=steps, device="cpu", log_every=steps)
        _TRAINED[steps] = model.eval()
    return _TRAINED[steps]


# -- 1. the likelihood --------------------------------------------------------------------------
def test_the_discretized_logistic_sums_to_one_over_the_256_levels():
    """For random locations (inside and outside [-1, 1]) and log-scales (-7 .. 1) the 256
    probabilities sum to 1 (float32 terms, summed in float64); a middle level's probability is
    the difference of two logistic CDFs (float64 by hand); the edge levels take the tails."""
    g = torch.Generator().manual_seed(0)
    loc = (3.0 * torch.rand(200, 1, generator=g) - 1.5)
    log_scale = 8.0 * torch.rand(200, 1, generator=g) - 7.0
    levels = torch.arange(256.0)
    logp = discretized_logistic_logp(levels, loc, log_scale)  # (200, 256)
    assert torch.isfinite(logp).all() and (logp <= 0).all()
    total = torch.exp(logp.double()).sum(1)
    assert torch.allclose(total, torch.ones_like(total), atol=1e-5), total
    # by hand, in float64
    loc64, s64 = loc.double(), torch.exp(log_scale.double())
    c = 2.0 * levels.double() / 255.0 - 1.0

    def cdf(y):
        return torch.sigmoid((y - loc64) / s64)

    want = cdf(c + 1 / 255) - cdf(c - 1 / 255)
    want[:, 0] = cdf(c[0] + 1 / 255)[:, 0]
    want[:, -1] = 1.0 - cdf(c[-1] - 1 / 255)[:, -1]
    got = torch.exp(logp.double())
    assert torch.allclose(got, want, atol=1e-5), float((got - want).abs().max())
    # far outside [-1, 1] the edge level holds (nearly) all the mass; the log stays finite
    far = discretized_logistic_logp(levels, torch.tensor([[-3.0], [3.0]]),
                                    torch.tensor([[-7.0], [-7.0]]))
    assert torch.isfinite(far).all()
    assert float(far[0, 0]) > -1e-6 and float(far[1, 255]) > -1e-6
    # the mean over the levels of a centred narrow logistic is its level
    m = discretized_logistic_mean(torch.tensor([2 * 100 / 255 - 1.0]), torch.tensor([-7.0]))
    assert abs(float(m) * 255 - 100) < 1e-3


# -- 2. the bounds ------------------------------------------------------------------------------
def test_iwae_is_at_least_as_tight_as_the_elbo():
    """On held-out digits, averaged over the images: IWAE(K=64) <= IWAE(K=8) <= ELBO (bits/dim,
    up to noise far below the gaps), all finite and positive; the bounds are deterministic and
    the first K' samples of a K-sample draw are the K'-sample draw."""
    model = _trained_tiny()
    x = _digits8("test")
    elbo = model.elbo_bpd(x, seed=0)
    assert elbo.shape == (len(x),) and torch.isfinite(elbo).all()
    lw64 = model.iwae_log_weights(x, 64, seed=0)
    lw8 = model.iwae_log_weights(x, 8, seed=0, max_rows=5)  # another batching
    assert torch.allclose(lw64[:, :8], lw8, atol=1e-4)
    i8, i64 = model.iwae_bpd(x, k=8, seed=0), model.iwae_bpd(x, k=64, seed=0)
    assert torch.equal(i64, model.iwae_bpd(x, k=64, seed=0))
    e, a, b = float(elbo.mean()), float(i8.mean()), float(i64.mean())
    assert 0 < b < a < e, (e, a, b)
    assert e - b > 0.01, (e, b)  # a real variational gap at this size


def test_a_one_sample_iwae_is_an_elbo_estimate():
    """IWAE with K = 1 is log p(x, z) - log q(z | x) at the ELBO's own z: the same z as
    ``elbo_bpd`` (which takes the KL in closed form), so their difference is
    log p(z) - log q(z | x) + KL, whose mean is 0: over 20 seeds and the held-out digits the mean
    difference is within 4 standard errors of 0 (and the spread is real, not an identity)."""
    model = _trained_tiny()
    x = _digits8("test")
    diffs = torch.cat([(model.iwae_bpd(x, k=1, seed=s) - model.elbo_bpd(x, seed=s)).double()
                       for s in range(20)])
    se = float(diffs.std() / math.sqrt(len(diffs)))
    assert float(diffs.std()) > 1e-3
    assert abs(float(diffs.mean())) < 4 * se, (float(diffs.mean()), se)


# -- 3. it learns --------------------------------------------------------------------------------
def test_training_lowers_held_out_bits_per_dim():
    """300 steps on the 8x8 training digits: the held-out ELBO (fixed noise) falls well below
    its value after one step (measured: 4.89 -> 3.93 bits/dim), and after 150 steps it was
    already lower than after one."""
    model = DLVAE(DLVAEConfig.tiny(lr=3e-3))
    test = _digits8("test")
    fit(model, _digits8(), steps=1, device="cpu")
    before = float(model.elbo_bpd(test, seed=0).mean())
    fit(model, _digits8(), steps=149, device="cpu", log_every=149)
    middle = float(model.elbo_bpd(test, seed=0).mean())
    after = float(_trained_tiny().elbo_bpd(test, seed=0).mean())
    assert after < middle < before and after < before - 0.5, (before, middle, after)


# -- 4. checkpoints ---------------------------------------------------------------------------
def test_fit_resume_equals_an_uninterrupted_run(tmp_path):
    """N steps, stop, load with the optimizer, M more == N + M straight (weights, Adam's moments,
    the schedule's position, the in-step noise)."""
    n, m = 4, 3
    cfg = DLVAEConfig.tiny(decay_start=3, decay_end=7)
    data = _digits8()
    straight = DLVAE(cfg)
    fit(straight, data, steps=n + m, device="cpu", log_every=1)

    part = DLVAE(cfg)
    path = tmp_path / "run" / "model"
    res = fit(part, data, steps=n + m, device="cpu", log_every=1, checkpoint_path=path,
              checkpoint_every=2, should_stop=lambda: part.step_ >= n)
    assert res.stopped and part.step_ == n
    resumed = checkpoints.load(path, optimizer=True)
    assert type(resumed) is DLVAE and resumed.step_ == n
    fit(resumed, data, steps=m, device="cpu", log_every=1)
    assert resumed.step_ == straight.step_ == n + m
    a, b = straight.state_dict(), resumed.state_dict()
    assert set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    start = DLVAE(cfg).state_dict()
    assert any(not torch.equal(start[k], a[k]) for k in a)
    sa = straight.optimizers()["adam"].state_dict()["state"]
    sb = resumed.optimizers()["adam"].state_dict()["state"]
    assert all(torch.equal(sa[i]["exp_avg"], sb[i]["exp_avg"]) for i in sa)


def test_samples_and_reconstructions_are_images():
    model = _trained_tiny()
    x = _digits8("test")[:6]
    r = model.reconstruct(x)
    assert r.shape == x.shape and float(r.min()) >= 0 and float(r.max()) <= 1
    a = model.sample(5, seed=3)
    assert a.shape == (5, 1, 8, 8) and torch.equal(a, model.sample(5, seed=3))
    assert not torch.equal(a, model.sample(5, seed=4))
    d = model.sample(5, seed=3, pixels="draw")
    assert torch.equal(to_levels(d), d * 255) or torch.allclose(to_levels(d) / 255, d)
    assert float(d.min()) >= 0 and float(d.max()) <= 1


# -- 5. the shipped model ------------------------------------------------------------------------
def test_the_shipped_card_numbers_recompute():
    """The shipped checkpoint's held-out ELBO and 16-sample IWAE bound of seed 0 (the 16 are the
    first of the card's K = 1,000: the same noise) recompute to the card's per-seed values; the
    card's bounds are ordered IWAE(K) <= IWAE(16) <= ELBO, on Glow's held-out digits."""
    from unsup.recipes import bounds

    if not checkpoints.weights_path(paths.SHIPPED_DIR / "dlvae-mnist").exists():
        pytest.skip("dlvae-mnist is not shipped (python -m unsup train dlvae-mnist "
                    "--out checkpoints)")
    model = checkpoints.load(paths.SHIPPED_DIR / "dlvae-mnist")
    card = model.card_["metrics"]
    per = card["per_seed"]
    assert card["seeds"][0] == 0 and card["n_heldout"] == 500
    x = bounds.test_images()
    assert x.shape == (500, 1, 28, 28)
    elbo = float(model.elbo_bpd(x, seed=0).double().mean())
    iwae16 = float(model.iwae_bpd(x, k=card["iwae16_k"], seed=0).double().mean())
    assert abs(elbo - per["elbo_bpd"][0]) < 2e-4, (elbo, per["elbo_bpd"][0])
    assert abs(iwae16 - per["iwae16_bpd"][0]) < 2e-4, (iwae16, per["iwae16_bpd"][0])
    assert card["iwae_bpd"] < card["iwae16_bpd"] < card["elbo_bpd"]
    assert card["iwae_k"] == bounds.IWAE_K
