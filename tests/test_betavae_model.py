"""β-VAE / β-TCVAE on tiny configs: shapes, the loss as written in the papers, exact resume."""

import math

import numpy as np
import pytest
import torch

from unsup import checkpoints
from unsup.data.dsprites import DSprites
from unsup.models import betavae as B
from unsup.families import model_class as get_model_class
from unsup.recipes import betavae as R
from unsup.models.vae import bernoulli_nll
from unsup.train import fit


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny convolutions run far faster on one thread on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    return DSprites("train", size=16)


@pytest.mark.parametrize("kind", ["betavae", "betatcvae", "factorvae"])
def test_shapes_and_registration(kind):
    cls = get_model_class(kind)
    m = cls(cls.config_class.tiny())
    x = torch.rand(5, 1, 16, 16).round()
    mu, logvar = m.posterior(x)
    assert mu.shape == logvar.shape == (5, 3)
    assert m.encode(x).shape == (5, 3)
    assert m.decode(mu).shape == (5, 1, 16, 16)
    assert m.sample(4, seed=1).shape == (4, 1, 16, 16)
    assert torch.equal(m.sample(4, seed=1), m.sample(4, seed=1))


def test_full_size_network_is_higgins():
    m = B.BetaVAE(B.BetaVAEConfig())
    convs = [l for l in m.encoder if isinstance(l, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    assert m.encode(torch.zeros(2, 1, 64, 64)).shape == (2, 10)
    assert m.decode(torch.zeros(2, 10)).shape == (2, 1, 64, 64)


def test_betavae_loss_is_recon_plus_beta_kl():
    m = B.BetaVAE(B.BetaVAEConfig.tiny(beta=4.0))
    x = torch.rand(6, 1, 16, 16).round()
    m.rng.manual_seed(7)
    terms = m.loss(x)
    eps = torch.randn(6, 3, generator=torch.Generator().manual_seed(7))
    mu, logvar = m.posterior(x)
    z = mu + torch.exp(0.5 * logvar) * eps
    p = torch.sigmoid(m.decode_logits(z)).clamp(1e-7, 1 - 1e-7)
    recon = -(x * p.log() + (1 - x) * (1 - p).log()).sum((1, 2, 3)).mean()
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean()
    assert float(terms["recon"].detach()) == pytest.approx(float(recon.detach()), rel=1e-4)
    assert float(terms["kl"]) == pytest.approx(float(kl), rel=1e-5)
    assert float(terms["loss"]) == pytest.approx(float(recon + 4.0 * kl), rel=1e-4)


def test_capacity_annealing():
    m = B.BetaVAE(B.BetaVAEConfig.tiny(beta=10.0, capacity=5.0, capacity_steps=100))
    m.step_ = 50
    assert m.capacity_at(50) == pytest.approx(2.5)
    x = torch.rand(4, 1, 16, 16).round()
    t = m.loss(x)
    assert float(t["loss"]) == pytest.approx(float(t["recon"] + 10 * (t["kl"] - 2.5).abs()), rel=1e-5)


def test_tc_decomposition_against_direct_sums():
    torch.manual_seed(0)
    M, d, N = 7, 3, 1000
    mu, logvar = torch.randn(M, d), torch.randn(M, d) * 0.3
    z = mu + torch.exp(0.5 * logvar) * torch.randn(M, d)

    def logn(v, m, lv):
        return -0.5 * (math.log(2 * math.pi) + lv + (v - m) ** 2 / math.exp(lv))

    mi = tc = dw = 0.0
    for i in range(M):
        log_qzx = sum(logn(z[i, k].item(), mu[i, k].item(), logvar[i, k].item()) for k in range(d))
        joint = [sum(logn(z[i, k].item(), mu[j, k].item(), logvar[j, k].item()) for k in range(d))
                 for j in range(M)]
        log_qz = np.logaddexp.reduce(joint) - math.log(N * M)
        marg = sum(np.logaddexp.reduce([logn(z[i, k].item(), mu[j, k].item(), logvar[j, k].item())
                                        for j in range(M)]) - math.log(N * M) for k in range(d))
        log_pz = sum(logn(z[i, k].item(), 0.0, 0.0) for k in range(d))
        mi += (log_qzx - log_qz) / M
        tc += (log_qz - marg) / M
        dw += (marg - log_pz) / M
    t = B.tc_decomposition(z, mu, logvar, N)
    assert float(t["mi"]) == pytest.approx(mi, rel=1e-4)
    assert float(t["tc"]) == pytest.approx(tc, rel=1e-4)
    assert float(t["dwkl"]) == pytest.approx(dw, rel=1e-4)


def test_betatcvae_with_unit_weights_is_recon_plus_mi_tc_dwkl():
    m = B.BetaTCVAE(B.BetaTCVAEConfig.tiny(beta=6.0, alpha=1.0, gamma=1.0))
    t = m.loss(torch.rand(8, 1, 16, 16).round())
    assert float(t["loss"]) == pytest.approx(
        float(t["recon"] + t["mi"] + 6.0 * t["tc"] + t["dwkl"]), rel=1e-5)


def test_permute_dims_shuffles_each_dimension_separately():
    z = torch.arange(200.0).view(100, 2)  # the two columns are perfectly dependent
    p = B.permute_dims(z, torch.Generator().manual_seed(0))
    for j in range(2):  # each column keeps its values...
        assert torch.equal(p[:, j].sort().values, z[:, j].sort().values)
    # ...but the pairs are broken
    assert (p[:, 1] - p[:, 0] != 1).float().mean() > 0.9


def test_factorvae_loss_is_elbo_plus_gamma_tc():
    m = B.FactorVAE(B.FactorVAEConfig.tiny(beta=35.0))
    t = m.loss(torch.rand(8, 1, 16, 16).round())
    assert float(t["loss"]) == pytest.approx(float(t["recon"] + t["kl"] + 35.0 * t["tc"]),
                                             rel=1e-5)


@pytest.mark.parametrize("rho", [0.0, 0.9])
def test_factorvae_discriminator_estimates_total_correlation(rho):
    """The density-ratio trick: trained on codes vs their shuffled copy, E[logit_0 - logit_1]
    approaches the true TC, -0.5 log(1 - rho^2) nats for two Gaussians with correlation rho."""
    torch.manual_seed(0)
    m = B.FactorVAE(B.FactorVAEConfig.tiny(n_latent=2, disc_lr=1e-3))
    opt = m.optimizers()["disc"]
    g = torch.Generator().manual_seed(1)
    cov = torch.tensor([[1.0, rho], [rho, 1.0]])
    chol = torch.linalg.cholesky(cov)

    def codes(n):
        return torch.randn(n, 2, generator=g) @ chol.T

    for _ in range(600):
        z = codes(256)
        logits = m.discriminator(torch.cat([z, B.permute_dims(z, g)]))
        target = torch.cat([torch.zeros(256), torch.ones(256)]).long()
        loss = torch.nn.functional.cross_entropy(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        logits = m.discriminator(codes(20_000))
        tc_hat = float((logits[:, 0] - logits[:, 1]).mean())
    truth = -0.5 * math.log(1 - rho ** 2)
    assert abs(tc_hat - truth) < 0.25, (tc_hat, truth)


@pytest.mark.parametrize("kind", ["betavae", "betatcvae", "factorvae"])
def test_resume_is_exact(tmp_path, data, kind):
    cls = get_model_class(kind)
    cfg = cls.config_class.tiny(beta=4.0)
    a = cls(cfg)
    fit(a, data, steps=6, checkpoint_path=tmp_path / "a", device="cpu")
    a2 = checkpoints.load(tmp_path / "a", optimizer=True)
    fit(a2, data, steps=4, device="cpu")
    b = cls(cfg)
    fit(b, data, steps=10, device="cpu")
    assert a2.step_ == b.step_ == 10
    for (k, p), q in zip(a2.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), k


def test_train_preset_and_evaluate_entry(tmp_path, monkeypatch):
    import functools

    from unsup import recipes
    from unsup.families import Preset

    tiny = {**B.BetaVAEConfig.tiny().__dict__, "image_size": 64, "beta": 4.0}
    monkeypatch.setattr(R.FAMILY, "presets", R.FAMILY.presets + (
        Preset("betavae-test", "test", "tiny", "betavae", 3, tiny, "dsprites"),))
    monkeypatch.setattr(R.FAMILY, "evaluate", functools.partial(R.evaluate, fast=True))
    path = recipes.train_preset("betavae-test", out_dir=tmp_path)
    card = checkpoints.load(path).card_
    assert card["step"] == 3 and card["command"] == "python -m unsup train betavae-test"
    assert card["data"]["name"] == "dsprites" and len(card["data"]["fingerprint"]) == 16
    for k in ("beta_vae", "factor_vae", "mig", "dci", "sap", "recon"):
        assert k in card["metrics"]
    assert len(card["extra_metrics"]["kl_per_dim"]) == 3
    # every score is sampled: the card holds the mean over >= 3 seeds and each seed's value
    # (issue 21, part 17)
    assert card["metrics"]["seeds"] == list(R.EVAL_SEEDS) and len(R.EVAL_SEEDS) >= 3
    for k in R.CARD_METRICS:
        per = card["metrics"]["per_seed"][k]
        assert len(per) == len(R.EVAL_SEEDS), k
        assert card["metrics"][k] == pytest.approx(sum(per) / len(per), abs=1e-4), k
    again = R.evaluate(checkpoints.load(path), fast=True)
    again.pop("extra_metrics")
    assert again == card["metrics"]  # fixed seeds: exactly the same numbers


@pytest.fixture
def one_quick_seed(monkeypatch):
    """The job's held-out measurement on one seed and a quarter of the images (the full one,
    3 seeds, is ~2 min per job here and is what tests/test_betavae_quality.py checks): these
    tests are about the job, its checkpoint and its card."""
    full = R.evaluate
    monkeypatch.setattr(R, "evaluate", lambda model: full(model, seeds=(0,), fast=True))


def test_train_on_demand_job(tmp_path, one_quick_seed):
    from unsup.jobs import ThreadRunner

    spec = R.training_spec(kind="betatcvae", beta=6.0, steps=2)
    spec.run_dir = tmp_path
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(spec), timeout=300)
    assert snap.status == "done", snap.error
    model = checkpoints.load(snap.checkpoint)
    assert model.kind == "betatcvae" and model.step_ == 2 and model.config.beta == 6.0
    assert model.card_["data"]["name"] == "dsprites"
    metrics = model.card_["metrics"]  # the job measured the run and stored it in the card
    assert metrics["measured_step"] == 2 and 0.0 <= metrics["mig"] <= 1.0


def test_share_pairs_averages_only_the_latents_that_agree():
    mu = torch.tensor([[0.0, 1.0, 2.0, 3.0], [0.1, 1.1, -2.0, 3.1]])
    logvar = torch.tensor([[-2.0, -2.0, -2.0, -2.0], [-2.2, -2.0, -2.0, -1.8]])
    new_mu, new_lv = B.share_pairs(mu, logvar)
    # latent 2 differs by 4 (KL in the tens of nats): each image keeps its own posterior
    assert torch.equal(new_mu[:, 2], mu[:, 2]) and torch.equal(new_lv[:, 2], logvar[:, 2])
    for j in (0, 1, 3):  # the others are averaged: the same posterior for both images
        assert new_mu[0, j] == new_mu[1, j] == pytest.approx(float(mu[:, j].mean()))
        assert new_lv[0, j] == new_lv[1, j] == pytest.approx(
            math.log(float(logvar[:, j].exp().mean())))


def test_pairs_share_posteriors_only_in_training(monkeypatch):
    from unsup.data.dsprites import DSpritesPairs

    pairs = DSpritesPairs(size=16)
    m = B.BetaVAE(B.BetaVAEConfig.tiny(pairs=True))
    fit(m, pairs, steps=3, device="cpu")  # trains on pairs
    assert m.step_ == 3
    calls = []
    real = B.share_pairs
    monkeypatch.setattr(B, "share_pairs", lambda mu, lv: calls.append(1) or real(mu, lv))
    x = pairs[torch.arange(32)]
    m.eval()
    m.loss(x)
    assert calls == []  # evaluation sees each image's own posterior
    m.train()
    m.loss(x)
    assert calls == [1]


def test_train_on_demand_with_pairs(tmp_path, one_quick_seed):
    from unsup.jobs import ThreadRunner

    spec = R.training_spec(kind="betavae", beta=1.0, steps=2, pairs=True)
    assert spec.title.startswith("Ada-GVAE")
    spec.run_dir = tmp_path
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(spec), timeout=300)
    assert snap.status == "done", snap.error
    model = checkpoints.load(snap.checkpoint)
    assert model.config.pairs and model.config.batch_size == 32
    assert model.card_["data"]["order"] == "pairs differing in one factor"
