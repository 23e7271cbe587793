"""Likelihood bounds and latent statistics for the (variational) autoencoders, in nats per image.

All functions are deterministic given ``seed`` and run in batches under ``torch.no_grad``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from unsup.models.vae import GaussianVAE, bernoulli_nll, reparameterize


def _batches(x: torch.Tensor, size: int):
    for i in range(0, len(x), size):
        yield x[i:i + size]


@torch.no_grad()
def elbo_terms(model: GaussianVAE, x: torch.Tensor, *, seed: int = 0, batch: int = 500) -> dict:
    """Held-out terms with one posterior sample per image, for any :class:`GaussianVAE` (the
    VAE page's models and the β-VAE family alike), through the model's own
    :meth:`GaussianVAE.elbo_terms`.

    Returns ``recon`` (mean -E_q log p(x|z)), ``kl`` (mean KL), ``neg_elbo`` (their sum),
    ``kl_per_dim`` (mean KL of each latent, array (n_latent,)). For an autoencoder only
    ``recon`` (with z = the code) is returned. The noise is drawn batch after batch from one
    generator seeded with ``seed``, so the numbers are reproducible exactly.
    """
    model.eval()
    g = torch.Generator().manual_seed(seed)
    recon, kl_dim, n, variational = 0.0, 0.0, 0, True
    for xb in _batches(x, batch):
        xb = xb.to(model.device)
        mu, logvar = model.posterior(xb)
        variational = logvar is not None
        eps = torch.randn(mu.shape, generator=g).to(mu.device) if variational else None
        t = model.elbo_terms(xb, posterior=(mu, logvar), eps=eps)
        recon += float(t["recon"].sum())
        if variational:
            kl_dim = kl_dim + t["kl_per_dim"].sum(0).double().cpu().numpy()
        n += len(xb)
    out = {"recon": recon / n}
    if variational:
        kl = float(np.sum(kl_dim))
        out.update(kl=kl / n, neg_elbo=(recon + kl) / n, kl_per_dim=np.asarray(kl_dim) / n)
    return out


@torch.no_grad()
def iwae_nll(model: GaussianVAE, x: torch.Tensor, *, k: int = 200, seed: int = 0,
             batch: int = 50, check=None) -> float:
    """Importance-weighted estimate of -log p(x) (Burda et al. 2016), mean over images.

    -log p(x) <= -log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x); the bound tightens
    as k grows and equals -ELBO at k = 1. ``check()``, if given, is called before each batch (a
    background job's stop check: it raises to end the measurement).
    """
    model.eval()
    g = torch.Generator().manual_seed(seed)
    total, n = 0.0, 0
    log2pi = math.log(2 * math.pi)
    for xb in _batches(x, batch):
        if check is not None:
            check()
        xb = xb.to(model.device)
        mu, logvar = model.posterior(xb)  # (b, d)
        b, d = mu.shape
        eps = torch.randn((k, b, d), generator=g).to(mu.device)
        z = reparameterize(mu, logvar, eps)  # (k, b, d)
        log_q = (-0.5 * (eps.pow(2) + logvar + log2pi)).sum(-1)  # (k, b)
        log_pz = (-0.5 * (z.pow(2) + log2pi)).sum(-1)
        logits = model.decode_logits(z.reshape(k * b, d))
        target = xb.unsqueeze(0).expand(k, *xb.shape).reshape(k * b, *xb.shape[1:])
        log_px = -bernoulli_nll(logits, target).view(k, b)
        log_w = log_px + log_pz - log_q
        ll = torch.logsumexp(log_w, 0) - math.log(k)
        total += float(-ll.sum())
        n += b
    return total / n


@torch.no_grad()
def active_units(model: GaussianVAE, x: torch.Tensor, threshold: float = 0.01) -> tuple[int, np.ndarray]:
    """Burda et al. 2016's activity A_u = Cov_x(E_q[u]); a unit is active if A_u > threshold.

    Returns (count, A) with A of shape (n_latent,).
    """
    model.eval()
    mus = torch.cat([model.encode(xb.to(model.device)).cpu() for xb in _batches(x, 500)])
    var = mus.var(0).numpy()
    return int((var > threshold).sum()), var


def evaluate(model: GaussianVAE, x_test: torch.Tensor, *, k: int = 200, seed: int = 0,
             check=None) -> dict:
    """All held-out numbers the VAE page shows, as JSON-able floats. ``check()``, if given, is
    called between the measurements and between the importance-sampling batches (a background
    job's stop check, which raises to end the measurement)."""
    check = check or (lambda: None)
    terms = elbo_terms(model, x_test, seed=seed)
    check()
    out: dict = {"test_recon_nats": round(terms["recon"], 3), "n_test": int(len(x_test))}
    if "kl_per_dim" in terms:
        n_active, _ = active_units(model, x_test)
        check()
        out.update(
            test_neg_elbo_nats=round(terms["neg_elbo"], 3),
            test_kl_nats=round(terms["kl"], 3),
            kl_per_dim=[round(float(v), 4) for v in terms["kl_per_dim"]],
            active_units=n_active,
            iwae_k=k,
            test_iwae_nll_nats=round(iwae_nll(model, x_test, k=k, seed=seed, check=check), 3),
        )
    return out
