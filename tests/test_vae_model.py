"""Unit tests of the model contract on tiny configs (8x8 images, 2-D codes)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from unsup import checkpoints
from unsup.metrics.elbo import elbo_terms, iwae_nll
from unsup.models.vae import ConvVAE, VAEConfig, gaussian_kl, interpolate, latent_grid
from unsup.train import batch_indices, fit


def toy_data(n=64, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    # two prototypes (a bar and a block) plus flipped pixels: learnable structure
    base = torch.zeros(2, 1, size, size)
    base[0, :, :, size // 2 - 1:size // 2 + 1] = 1
    base[1, :, 2:6, 2:6] = 1
    x = base[torch.arange(n) % 2].clone()
    flips = torch.rand(x.shape, generator=g) < 0.05
    return torch.where(flips, 1 - x, x)


def test_shapes():
    m = ConvVAE(VAEConfig.tiny())
    x = toy_data(5)
    mu, logvar = m.posterior(x)
    assert mu.shape == (5, 2) and logvar.shape == (5, 2)
    assert m.encode(x).shape == (5, 2)
    out = m.decode(mu)
    assert out.shape == (5, 1, 8, 8) and float(out.min()) >= 0 and float(out.max()) <= 1
    assert m.sample(3, seed=1).shape == (3, 1, 8, 8)
    assert torch.equal(m.sample(3, seed=1), m.sample(3, seed=1))
    ae = ConvVAE(VAEConfig.tiny(variational=False))
    assert ae.posterior(x)[1] is None and ae.encode(x).shape == (5, 2)
    rgb = ConvVAE(VAEConfig.tiny(n_channels=3))
    assert rgb.decode(torch.zeros(2, 2)).shape == (2, 3, 8, 8)


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)
    ours = gaussian_kl(mu, logvar)
    ref = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0))
    assert torch.allclose(ours, ref, atol=1e-5)


def test_loss_equals_direct_computation():
    m = ConvVAE(VAEConfig.tiny(beta=2.5))
    x = toy_data(6)
    m.rng.manual_seed(123)
    terms = m.loss(x)
    # redo it by hand with the same noise
    mu, logvar = m.posterior(x)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(123))
    z = mu + torch.exp(0.5 * logvar) * eps
    p = torch.sigmoid(m.decode_logits(z)).clamp(1e-7, 1 - 1e-7)
    log_px = (x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(1)
    kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)).sum(1)
    assert math.isclose(float(terms["recon"]), float(-log_px.mean()), rel_tol=1e-4)
    assert math.isclose(float(terms["kl"]), float(kl.mean()), rel_tol=1e-5)
    assert math.isclose(float(terms["loss"]), float(-log_px.mean() + 2.5 * kl.mean()),
                        rel_tol=1e-4)
    assert math.isclose(float(terms["neg_elbo"]), float(-log_px.mean() + kl.mean()), rel_tol=1e-4)


def test_save_load_gives_identical_outputs(tmp_path):
    m = ConvVAE(VAEConfig.tiny(noise=0.3))
    fit(m, toy_data(), steps=3)
    card = checkpoints.make_card(m, step=m.step_, title="t")
    path = checkpoints.save(m, tmp_path / "m", card)
    m2 = checkpoints.load(path)
    x = toy_data(4)
    z = torch.randn(4, 2)
    assert torch.equal(m.encode(x), m2.encode(x))
    assert torch.equal(m.decode(z), m2.decode(z))
    assert m2.step_ == 3 and m2.config == m.config


@pytest.mark.parametrize("overrides", [dict(), dict(variational=False, noise=0.5, shift=1)])
def test_resume_equals_uninterrupted(tmp_path, overrides):
    data = toy_data()
    a = ConvVAE(VAEConfig.tiny(**overrides))
    fit(a, data, steps=7, checkpoint_path=tmp_path / "a")
    a2 = checkpoints.load(tmp_path / "a", optimizer=True)
    fit(a2, data, steps=5)
    b = ConvVAE(VAEConfig.tiny(**overrides))
    fit(b, data, steps=12)
    assert a2.step_ == b.step_ == 12
    for (k, va), vb in zip(a2.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k


def test_short_fit_lowers_the_loss():
    m = ConvVAE(VAEConfig.tiny(lr=3e-3))
    data = toy_data(128)
    before = elbo_terms(m, data)["neg_elbo"]
    res = fit(m, data, steps=150, log_every=50)
    after = elbo_terms(m, data)["neg_elbo"]
    assert after < 0.7 * before
    assert res.history[-1]["loss"] < res.history[0]["loss"]


def test_iwae_is_tighter_than_elbo():
    m = ConvVAE(VAEConfig.tiny(lr=3e-3))
    data = toy_data(64)
    fit(m, data, steps=60)
    neg_elbo = elbo_terms(m, data)["neg_elbo"]
    iw = iwae_nll(m, data, k=100)
    assert iw <= neg_elbo + 0.5  # the bound can only tighten (up to Monte-Carlo noise)
    # the 2-D latent lets us integrate p(x) = ∫ p(x|z) p(z) dz on a fine grid: the true -log p(x)
    # is below both bounds, and the importance-weighted one is the closer
    g = torch.linspace(-6, 6, 241)
    step = float(g[1] - g[0])
    z = torch.cartesian_prod(g, g)  # (241², 2)
    with torch.no_grad():
        logits = m.decode_logits(z).flatten(1)  # (G, 64)
    log_pz = -0.5 * (z ** 2).sum(1) - math.log(2 * math.pi)
    x = data.flatten(1)  # (n, 64)
    log_px_z = x @ F.logsigmoid(logits).T + (1 - x) @ F.logsigmoid(-logits).T  # (n, G)
    true_nll = float(-(torch.logsumexp(log_px_z + log_pz, 1) + 2 * math.log(step)).mean())
    assert true_nll <= iw + 0.05 and true_nll <= neg_elbo
    assert iw - true_nll < 0.8 * (neg_elbo - true_nll)


def test_batches_cover_each_epoch_once():
    seen = torch.cat([batch_indices(40, 8, s, seed=3) for s in range(5)])
    assert sorted(seen.tolist()) == list(range(40))
    assert not torch.equal(batch_indices(40, 8, 0, 3), batch_indices(40, 8, 5, 3))


def test_diverging_training_is_reported():
    m = ConvVAE(VAEConfig.tiny(lr=1e9))
    with pytest.raises(FloatingPointError, match="diverged"):
        fit(m, toy_data(), steps=50)


def test_latent_grid_and_interpolation():
    g = latent_grid(5)
    assert g.shape == (25, 2)
    assert torch.allclose(g[0], torch.tensor([g[0, 0], g[:, 1].max()]))  # top-left: z1 high
    assert float(g[12].abs().max()) < 1e-6  # the centre is the origin
    z0, z1 = torch.randn(4), torch.randn(4)
    for mode in ("linear", "spherical"):
        path = interpolate(z0, z1, 6, mode)
        assert torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    # slerp between equal-norm codes keeps the norm
    a, b = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 3.0])
    norms = interpolate(a, b, 7, "spherical").norm(dim=1)
    assert torch.allclose(norms, torch.full((7,), 3.0), atol=1e-4)


def test_stop_before_the_first_step_still_saves(tmp_path):
    m = ConvVAE(VAEConfig.tiny())
    res = fit(m, toy_data(), steps=10, should_stop=lambda: True, checkpoint_path=tmp_path / "m")
    assert res.stopped and res.steps_done == 0 and checkpoints.load(res.checkpoint).step_ == 0
