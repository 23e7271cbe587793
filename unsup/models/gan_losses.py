"""The seven GAN loss formulations of the lecture's table (Lucic, Kurach, Michalski, Gelly &
Bousquet 2018, "Are GANs Created Equal? A Large-Scale Study", table 1).

Both players *minimise* their loss. D(x) is the discriminator's probability that x is real,
written here through its logit l (D = sigmoid(l)), so that log D = log sigmoid(l) and
log(1 - D) = log sigmoid(-l) are computed without overflow. For WGAN, WGAN-GP and LS GAN the
discriminator's raw output *is* D(x) (a critic score, no sigmoid). x ~ p_d is real, x̂ ~ p_g
generated; every expectation is a batch mean.

========  =============================================================  ===========================
family    L_D                                                            L_G
========  =============================================================  ===========================
MM GAN    -E log D(x) - E log(1 - D(x̂))                                   E log(1 - D(x̂))
NS GAN    -E log D(x) - E log(1 - D(x̂))                                   -E log D(x̂)
WGAN      -E D(x) + E D(x̂)           (D's weights clipped to [-c, c])     -E D(x̂)
WGAN-GP   L_D^WGAN + λ E (||∇D(αx + (1-α)x̂)||₂ - 1)²,  α ~ U(0, 1)        -E D(x̂)
LS GAN    E (D(x) - 1)² + E D(x̂)²                                         E (D(x̂) - 1)²
DRAGAN    L_D^GAN + λ E_{x̃ ~ p_d + N(0, c)} (||∇D(x̃)||₂ - 1)²             E log(1 - D(x̂))
BEGAN     E ||x - AE(x)||₁ - k_t E ||x̂ - AE(x̂)||₁                          E ||x̂ - AE(x̂)||₁
========  =============================================================  ===========================

Two entries of the table as printed (in the paper and in the lecture) are typos, corrected here
as Mao et al. 2017 ("Least Squares Generative Adversarial Networks", with the targets a = 0,
b = c = 1 and without the factor 1/2) define LS GAN: the table's L_D starts with
"-E[(D(x) - 1)²]" and its L_G reads "-E[(D(x̂ - 1))²]"; minimised as printed, both would push
D(x) and D(x̂) *away* from 1.

DRAGAN (Kodali et al. 2017) perturbs real points only. The table writes the perturbation as
N(0, c); we use a Gaussian whose standard deviation is c times the batch's standard deviation
(the reference code scales its noise by the data's std the same way), so one c suits both the
2-D sets and images. Its generator loss is the table's MM form.

BEGAN (Berthelot, Schumm & Metz 2017): the discriminator is an autoencoder, L(v) = ||v -
AE(v)||₁ its per-sample reconstruction error (mean absolute error over the sample's values, as in
the reference implementations). After every step the equilibrium control moves

    k_{t+1} = clip(k_t + λ_k (γ L(x) - L(x̂)), 0, 1)

and M_global = L(x) + |γ L(x) - L(x̂)| measures convergence (lower is better).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

LOSSES = ("mm", "ns", "wgan", "wgan-gp", "ls", "dragan", "began")
"""Loss family keys, in the order of the lecture's table."""

LOSS_LABELS = {"mm": "MM GAN", "ns": "NS GAN", "wgan": "WGAN", "wgan-gp": "WGAN-GP",
               "ls": "LS GAN", "dragan": "DRAGAN", "began": "BEGAN"}
"""Display name of each family, as the table writes it."""

SIGMOID_LOSSES = ("mm", "ns", "dragan")
"""Families whose discriminator output is a logit of D(x) = sigmoid(logit)."""


def check_loss(loss: str) -> str:
    """``loss`` if it is a known family; otherwise a ValueError naming the known ones."""
    if loss not in LOSSES:
        raise ValueError(f"unknown GAN loss {loss!r}; choose one of {', '.join(LOSSES)}")
    return loss


# -- discriminator losses (real, fake: (b,) or (b, 1) outputs of D) ---------------------------
def d_loss_gan(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """MM / NS GAN: -E log D(x) - E log(1 - D(x̂)), D = sigmoid(logit)."""
    return -F.logsigmoid(real).mean() - F.logsigmoid(-fake).mean()


def d_loss_wgan(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN: -E D(x) + E D(x̂) (D is a critic score)."""
    return -real.mean() + fake.mean()


def d_loss_ls(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """LS GAN: E (D(x) - 1)² + E D(x̂)² (the table's sign typo corrected)."""
    return (real - 1.0).pow(2).mean() + fake.pow(2).mean()


# -- generator losses (fake: outputs of D on generated samples) --------------------------------
def g_loss_mm(fake: torch.Tensor) -> torch.Tensor:
    """MM GAN and DRAGAN: E log(1 - D(x̂)) (saturates when D is confident)."""
    return F.logsigmoid(-fake).mean()


def g_loss_ns(fake: torch.Tensor) -> torch.Tensor:
    """NS GAN: -E log D(x̂) (the non-saturating heuristic of Goodfellow et al. 2014)."""
    return -F.logsigmoid(fake).mean()


def g_loss_wgan(fake: torch.Tensor) -> torch.Tensor:
    """WGAN and WGAN-GP: -E D(x̂)."""
    return -fake.mean()


def g_loss_ls(fake: torch.Tensor) -> torch.Tensor:
    """LS GAN: E (D(x̂) - 1)² (the table's parenthesis and sign typos corrected)."""
    return (fake - 1.0).pow(2).mean()


_D_LOSS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mm": d_loss_gan, "ns": d_loss_gan, "dragan": d_loss_gan,
    "wgan": d_loss_wgan, "wgan-gp": d_loss_wgan, "ls": d_loss_ls,
}
_G_LOSS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "mm": g_loss_mm, "dragan": g_loss_mm, "ns": g_loss_ns,
    "wgan": g_loss_wgan, "wgan-gp": g_loss_wgan, "ls": g_loss_ls,
}


def d_loss(loss: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The table's L_D for ``loss``, without its gradient penalty (BEGAN: :func:`d_loss_began`)."""
    if loss == "began":
        raise ValueError("BEGAN's discriminator loss needs reconstruction errors: use d_loss_began")
    return _D_LOSS[check_loss(loss)](real, fake)


def g_loss(loss: str, fake: torch.Tensor) -> torch.Tensor:
    """The table's L_G for ``loss`` (BEGAN: see :func:`g_loss_began`)."""
    if loss == "began":
        raise ValueError("BEGAN's generator loss is the reconstruction error: use g_loss_began")
    return _G_LOSS[check_loss(loss)](fake)


# -- gradient penalties -------------------------------------------------------------------------
def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor],
                     points: torch.Tensor) -> torch.Tensor:
    """E (||∇_x D(x)||₂ - 1)² over the rows of ``points`` (b, ...), the norm taken over each
    row's values. Differentiable in D's weights (``create_graph``), as both penalties need."""
    points = points.detach().requires_grad_(True)
    out = critic(points)
    (grad,) = torch.autograd.grad(out.sum(), points, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)  # (b,)
    return (norms - 1.0).pow(2).mean()


def wgan_gp_points(real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """αx + (1 - α)x̂ with one α ~ U(0, 1) per row (``alpha`` (b,)), Gulrajani et al. 2017."""
    a = alpha.view(-1, *([1] * (real.dim() - 1)))
    return a * real + (1.0 - a) * fake


def dragan_points(real: torch.Tensor, noise: torch.Tensor, c: float) -> torch.Tensor:
    """x + c·std(x)·ε, ε = ``noise`` ~ N(0, I) (real points perturbed, Kodali et al. 2017)."""
    return real + c * real.detach().std() * noise


# -- BEGAN --------------------------------------------------------------------------------------
def began_recon(x: torch.Tensor, ae_x: torch.Tensor) -> torch.Tensor:
    """Per-sample L1 reconstruction error L(v) = mean |v - AE(v)| over the sample's values, (b,)."""
    return (x - ae_x).abs().flatten(1).mean(1)


def d_loss_began(l_real: torch.Tensor, l_fake: torch.Tensor,
                 k: float | torch.Tensor) -> torch.Tensor:
    """BEGAN: E L(x) - k_t E L(x̂) (``l_real``, ``l_fake``: per-sample errors or their means)."""
    return l_real.mean() - k * l_fake.mean()


def g_loss_began(l_fake: torch.Tensor) -> torch.Tensor:
    """BEGAN: E L(x̂)."""
    return l_fake.mean()


def began_k_update(k: float, l_real: float, l_fake: float, gamma: float,
                   lambda_k: float) -> float:
    """k_{t+1} = clip(k_t + λ_k (γ L(x) - L(x̂)), 0, 1) (Berthelot et al. 2017, sec. 3.4)."""
    return float(min(1.0, max(0.0, k + lambda_k * (gamma * l_real - l_fake))))


def began_convergence(l_real: float, l_fake: float, gamma: float) -> float:
    """M_global = L(x) + |γ L(x) - L(x̂)| (Berthelot et al. 2017, sec. 3.4; lower is better)."""
    return float(l_real + abs(gamma * l_real - l_fake))


def clip_weights(module: torch.nn.Module, c: float) -> None:
    """WGAN: clamp every parameter of ``module`` to [-c, c] (Arjovsky et al. 2017, algorithm 1)."""
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-c, c)
