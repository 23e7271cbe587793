"""The 2-D GAN and the DCGAN: every loss steps, D and G each change only in their own update,
resume is exact, and a 2-D GAN really learns the ring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unsup import checkpoints, families
from unsup.data.toy2d import ring
from unsup.metrics.gan import mode_stats
from unsup.models import gan as G
from unsup.models.gan_losses import LOSSES
from unsup.models.vae import interpolate
from unsup.train import fit


@pytest.fixture(scope="module")
def ring_data():
    return ring(n=4_096, seed=1)


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(0)
    # blobs in [0, 1]: enough structure for a step, no download
    return (torch.rand(64, 1, 8, 8, generator=g) > 0.6).float()


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return any(not torch.equal(a, b.detach()) for a, b in zip(before, module.parameters()))


def test_kinds_are_registered():
    """The GAN family (unsup.recipes.gan) is in the registry: checkpoints of both kinds load."""
    assert families.of_kind("gan2d").name == families.of_kind("dcgan").name == "gan"
    assert G.Toy2DGAN.kind == "gan2d" and G.DCGAN.kind == "dcgan"
    assert families.model_class("gan2d") is G.Toy2DGAN
    assert families.model_class("dcgan") is G.DCGAN


@pytest.mark.parametrize("loss", LOSSES)
def test_2d_step_every_loss(loss, ring_data):
    m = G.Toy2DGAN(G.Toy2DGANConfig.tiny(loss=loss))
    m.optimizers()
    batch = ring_data[torch.arange(32)]
    g0, d0 = _params(m.generator), _params(m.discriminator)
    out = m.d_update(batch)  # D alone
    assert _changed(d0, m.discriminator) and not _changed(g0, m.generator)
    assert all(np.isfinite(v) for v in out.values()) and "d_loss" in out
    d1 = _params(m.discriminator)
    out = m.g_update(32)  # G alone
    assert _changed(g0, m.generator) and not _changed(d1, m.discriminator)
    assert "g_loss" in out
    out = m.train_step(batch)
    assert {"d_loss", "g_loss"} <= set(out) and all(np.isfinite(v) for v in out.values())
    if loss in ("wgan-gp", "dragan"):
        assert out["gp"] >= 0
    if loss == "began":
        assert 0.0 <= out["k"] <= 1.0 and out["m_global"] >= 0
        assert float(m.began_k) == out["k"]  # the control is state (a buffer) the checkpoint saves


@pytest.mark.parametrize("loss", LOSSES)
def test_dcgan_step_every_loss(loss, images):
    m = G.DCGAN(G.DCGANConfig.tiny(loss=loss))
    m.optimizers()
    g0, d0 = _params(m.generator), _params(m.discriminator)
    out = m.train_step(images[:8])
    assert _changed(g0, m.generator) and _changed(d0, m.discriminator)
    assert all(np.isfinite(v) for v in out.values())
    if loss == "began":  # the autoencoder discriminator reconstructs images
        x = m._to_model(images[:2])
        assert m.discriminator(x).shape == x.shape


def test_wgan_clips_the_critic(ring_data):
    m = G.Toy2DGAN(G.Toy2DGANConfig.tiny(loss="wgan", clip=0.01))
    m.train_step(ring_data[torch.arange(32)])
    assert max(float(p.detach().abs().max()) for p in m.discriminator.parameters()) <= 0.01 + 1e-7
    # G is not clipped
    assert max(float(p.detach().abs().max()) for p in m.generator.parameters()) > 0.01


def test_packing_and_minibatch_discrimination_shapes():
    m = G.Toy2DGAN(G.Toy2DGANConfig.tiny(pack=4))
    assert m.discriminator[0].in_features == 8  # 4 points of 2 numbers
    assert m._d_in(torch.randn(10, 2)).shape == (2, 8)  # 10 -> 2 packs (2 rows left over)
    x = torch.randn(7, 2)
    assert m.d_output(x).shape == (7,)
    mb = G.Toy2DGAN(G.Toy2DGANConfig.tiny(minibatch_features=3, minibatch_kernel_dim=2))
    h = torch.randn(5, 16)
    layer = mb.discriminator[-2]
    assert isinstance(layer, G.MinibatchDiscrimination) and layer(h).shape == (5, 19)
    # identical samples are maximally "close": every o_b = (b - 1) * exp(0)
    same = layer(torch.ones(4, 16))[:, 16:]
    assert torch.allclose(same, torch.full((4, 3), 3.0))


def test_minibatch_features_see_the_batch():
    m = G.Toy2DGAN(G.Toy2DGANConfig.tiny(minibatch_features=4))
    x = torch.randn(6, 2)
    alone = m.d_output(x[:3])
    together = m.d_output(x)[:3]
    assert not torch.allclose(alone, together)  # the other samples change the verdict


def test_bad_configs_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="choose one of"):
        G.Toy2DGAN(G.Toy2DGANConfig.tiny(loss="hinge"))
    with pytest.raises(ValueError, match="optimizer"):
        G.DCGAN(G.DCGANConfig.tiny(optimizer="lbfgs"))
    with pytest.raises(ValueError, match="pack"):
        G.Toy2DGAN(G.Toy2DGANConfig.tiny(pack=64))
    with pytest.raises(ValueError, match="minibatch_features=0"):
        G.Toy2DGAN(G.Toy2DGANConfig.tiny(loss="began", minibatch_features=4))
    with pytest.raises(ValueError, match="multiple of 4"):
        G.DCGAN(G.DCGANConfig.tiny(image_size=10))
    with pytest.raises(ValueError, match="d_steps"):
        G.Toy2DGAN(G.Toy2DGANConfig.tiny(d_steps=0))


def test_sample_decode_and_interpolation(images):
    m = G.DCGAN(G.DCGANConfig.tiny())
    m.train_step(images[:8])
    a, b = m.sample(5, seed=3), m.sample(5, seed=3)
    assert torch.equal(a, b) and a.shape == (5, 1, 8, 8)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert not torch.equal(a, m.sample(5, seed=4))
    z0, z1 = torch.randn(2, m.config.n_latent, generator=torch.Generator().manual_seed(0))
    m.eval()
    with torch.no_grad():  # eval mode: an image does not depend on the rest of its batch
        assert torch.allclose(m.decode(torch.stack([z0, z1]))[:1], m.decode(z0[None]), atol=1e-5)
        strip = m.decode(interpolate(z0, z1, 7, mode="spherical"))
    assert strip.shape == (7, 1, 8, 8)
    p = m.d_output(images[:4])
    assert p.shape == (4,) and float(p.min()) >= 0 and float(p.max()) <= 1  # NS: a probability


def test_2d_lab_helpers():
    m = G.Toy2DGAN(G.Toy2DGANConfig.tiny(loss="wgan-gp"))
    pts, grad = m.g_gradients(torch.randn(6, 2))
    assert pts.shape == grad.shape == (6, 2) and torch.isfinite(grad).all()
    assert all(p.grad is None for p in m.discriminator.parameters())
    b = G.Toy2DGAN(G.Toy2DGANConfig.tiny(loss="began"))
    assert float(b.d_output(torch.randn(4, 2)).max()) <= 0  # -L(x), minus an error


def _assert_same_weights(a, b):
    for (k, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), k


@pytest.mark.parametrize("overrides", [
    dict(loss="ns", pack=2),
    dict(loss="wgan-gp", d_steps=2, optimizer="rmsprop"),
    dict(loss="dragan", minibatch_features=3, optimizer="sgd"),
    dict(loss="began"),
])
def test_2d_resume_is_exact(tmp_path, ring_data, overrides):
    cfg = G.Toy2DGANConfig.tiny(**overrides)
    a = G.Toy2DGAN(cfg)
    fit(a, ring_data, steps=6, checkpoint_path=tmp_path / "a", device="cpu")
    a2 = checkpoints.load(tmp_path / "a", optimizer=True)
    assert a2.kind == "gan2d" and a2.step_ == 6
    fit(a2, ring_data, steps=5, device="cpu")
    b = G.Toy2DGAN(cfg)
    fit(b, ring_data, steps=11, device="cpu")
    assert a2.step_ == b.step_ == 11
    _assert_same_weights(a2, b)


@pytest.mark.parametrize("loss,ema", [("ns", 0.0), ("wgan-gp", 0.0), ("began", 0.0),
                                      ("ns", 0.9)])
def test_dcgan_resume_is_exact(tmp_path, images, loss, ema):
    cfg = G.DCGANConfig.tiny(loss=loss, g_steps=2, g_ema=ema)
    a = G.DCGAN(cfg)
    fit(a, images, steps=4, checkpoint_path=tmp_path / "a", device="cpu")
    a2 = checkpoints.load(tmp_path / "a", optimizer=True)
    fit(a2, images, steps=3, device="cpu")
    b = G.DCGAN(cfg)
    fit(b, images, steps=7, device="cpu")
    _assert_same_weights(a2, b)  # includes BatchNorm statistics and BEGAN's k_t
    if loss == "began":
        assert float(b.began_k) > 0 or float(a2.began_k) == float(b.began_k)


def test_generator_average_follows_the_generator_and_draws_the_samples(images):
    m = G.DCGAN(G.DCGANConfig.tiny(g_ema=0.5))
    assert not any(p.requires_grad for p in m.generator_ema.parameters())
    before = [p.detach().clone() for p in m.generator.parameters()]
    m.train_step(images[:8])
    for e, b, p in zip(m.generator_ema.parameters(), before, m.generator.parameters()):
        assert torch.allclose(e, 0.5 * b + 0.5 * p.detach(), atol=1e-6)  # one step of the average
    z = torch.randn(3, m.config.n_latent)
    m.eval()
    with torch.no_grad():
        assert torch.allclose(m.decode(z), (m.generator_ema(z) + 1) / 2)
        assert not torch.allclose(m.decode(z), (m.generator(z) + 1) / 2)
    assert not hasattr(G.DCGAN(G.DCGANConfig.tiny()), "generator_ema")  # off by default
    with pytest.raises(ValueError, match="g_ema"):
        G.DCGAN(G.DCGANConfig.tiny(g_ema=1.0))


def test_generator_average_draws_with_its_own_standing_batchnorm_statistics(images):
    """The averaged generator's BatchNorm statistics are those of its own weights on fresh
    noise (Brock et al. 2019's standing statistics), recomputed by hand here; drawing samples
    does not change what training does next; a loaded checkpoint keeps the stored ones."""
    m = G.DCGAN(G.DCGANConfig.tiny(g_ema=0.5))
    for _ in range(2):
        m.train_step(images[:8])
    bn = m.generator_ema[2]  # the first BatchNorm, after the dense layer and the reshape
    rand = torch.Generator().manual_seed(G.EMA_STATS_SEED)
    means, variances = [], []
    with torch.no_grad():
        for _ in range(G.EMA_STATS_BATCHES):
            h = m.generator_ema[:2](torch.randn(G.EMA_STATS_BATCH, m.config.n_latent,
                                                generator=rand))
            means.append(h.mean((0, 2, 3)))
            variances.append(h.transpose(0, 1).flatten(1).var(1))  # unbiased, as BatchNorm's
    state = m.state_dict()  # brings the statistics up to date first
    assert torch.allclose(state["generator_ema.2.running_mean"], torch.stack(means).mean(0),
                          atol=1e-5)
    assert torch.allclose(state["generator_ema.2.running_var"], torch.stack(variances).mean(0),
                          rtol=1e-4)
    assert bn.momentum == m.generator[2].momentum  # the training momentum is put back
    # the trained generator keeps its own running statistics: they differ
    assert not torch.allclose(m.generator[2].running_mean, bn.running_mean)

    # sampling in between does not change the training trajectory
    a, b = G.DCGAN(G.DCGANConfig.tiny(g_ema=0.5)), G.DCGAN(G.DCGANConfig.tiny(g_ema=0.5))
    for step in range(3):
        a.train_step(images[:8])
        b.train_step(images[:8])
        a.sample(5, seed=step)
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k

    # loading takes the stored statistics as they are (a later update makes them stale again)
    c = G.DCGAN(G.DCGANConfig.tiny(g_ema=0.5))
    c.train_step(images[:8])  # its own statistics are stale now
    doctored = {k: (v + 1.0 if k == "generator_ema.2.running_mean" else v)
                for k, v in sa.items()}
    c.load_state_dict(doctored)
    assert torch.equal(c.state_dict()["generator_ema.2.running_mean"],
                       doctored["generator_ema.2.running_mean"])


@pytest.mark.slow
def test_2d_gan_learns_the_ring():
    """1,000 steps of a plain NS GAN with the default config (~6 s on one thread) move the
    generated points from the initial blob near the origin to the ring of radius 1 (measured:
    mean distance to the ring 0.03-0.05 after 800-1,200 steps for seeds 0, 1, 2)."""
    torch.set_num_threads(1)
    data = ring(seed=0)
    m = G.Toy2DGAN(G.Toy2DGANConfig(seed=0))

    def radial_error(model):
        x = model.sample(2_500, seed=7).numpy()  # fresh noise, not the training noise
        return np.abs(np.linalg.norm(x, axis=1) - 1.0)

    before = radial_error(m)
    assert before.mean() > 0.5  # the untrained generator is a blob, far from the ring
    fit(m, data, steps=1_000, device="cpu")
    after = radial_error(m)
    assert after.mean() < 0.1
    assert (after < 0.1).mean() > 0.6
    stats = mode_stats(m.sample(2_500, seed=7).numpy(), data.means, data.sigma, min_count=1)
    assert stats["hq"] > 0.0 and stats["modes"] >= 1


def test_diff_augment_shifts_and_cuts_out_per_image_and_passes_gradients():
    """DiffAugment (the best image recipe's): translation moves each image by a whole number of
    pixels within 1/8 of the side with black coming in; cutout greys a square of half the
    side; both are differentiable, off when scoring, and unknown names are refused."""
    g = torch.Generator().manual_seed(0)
    rand = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    x = -torch.ones(16, 1, 16, 16)
    x[:, :, 6:10, 6:10] = 1.0  # a white 4x4 square in the middle
    y = G.diff_augment(x, "translation", rand)
    assert y.shape == x.shape and int((y == 1).sum()) == 16 * 16  # each square moved, whole
    rows = (y[:, 0] == 1).any(2).float().argmax(1)  # first white row of each image
    assert set(rows.tolist()) <= set(range(4, 9)) and len(set(rows.tolist())) > 1  # ±2 px
    z = G.diff_augment(torch.ones(8, 1, 16, 16), "cutout", rand)
    grey = (z == 0).sum(dim=(1, 2, 3))
    assert grey.max() == 8 * 8 and grey.min() > 0  # at most half the side squared
    x.requires_grad_(True)
    G.diff_augment(x, "translation,cutout", rand).sum().backward()
    assert x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="unknown augmentation"):
        G.DCGAN(G.DCGANConfig.tiny(augment="colour"))
    m = G.DCGAN(G.DCGANConfig.tiny(augment="translation,cutout"))
    imgs = torch.rand(8, 1, 8, 8)
    assert torch.equal(m.d_output(imgs), m.d_output(imgs))  # D's score: unaugmented
    out = m.train_step(imgs)
    assert all(np.isfinite(v) for v in out.values())
