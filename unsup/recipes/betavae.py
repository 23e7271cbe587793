"""The disentangling-VAE family on dSprites: β-VAE, β-TCVAE, FactorVAE and their weakly
supervised (paired) variants. Presets of the shipped checkpoints, the held-out evaluation with the
field's five metrics, per-latent analysis, traversals and the page's train-on-demand job."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from unsup.families import Family, PageInfo, Preset
from unsup.models.betavae import (BetaTCVAE, BetaTCVAEConfig, BetaVAE, BetaVAEConfig, FactorVAE,
                                  FactorVAEConfig)

KIND_LABELS = {"betavae": "β-VAE", "betatcvae": "β-TCVAE", "factorvae": "FactorVAE"}
MODELS = {"betavae": (BetaVAE, BetaVAEConfig), "betatcvae": (BetaTCVAE, BetaTCVAEConfig),
          "factorvae": (FactorVAE, FactorVAEConfig)}

STEPS = 12_000
"""Steps of every preset, batches of 32 (lr 1e-3). Measured: 57-64 minutes per preset with the five
shipped presets training side by side on one thread each of 2 cores; alone on 2 idle cores about
20 minutes (estimated from the measured 2.5 ms per image of a 2-thread step)."""

RECIPE = dict(lr=1e-3, batch_size=32)


def _p(name, kind, config, title, description):
    return Preset(name, title, description, kind, STEPS, dict(RECIPE, **config), "dsprites",
                  checkpoint_every=2_500)


PRESETS = (
    _p("betavae-b1", "betavae", dict(beta=1.0), "VAE (β = 1) on dSprites",
       "The plain VAE: the ELBO, no pressure towards independent latents."),
    _p("betavae-b4", "betavae", dict(beta=4.0), "β-VAE (β = 4) on dSprites",
       "Higgins et al. 2017's setting: the KL weighted 4x."),
    _p("betatcvae-b6", "betatcvae", dict(beta=6.0), "β-TCVAE (β = 6) on dSprites",
       "Chen et al. 2018: only the total correlation is weighted (β = 6)."),
    _p("adagvae-b1", "betavae", dict(beta=1.0, pairs=True), "Ada-GVAE (pairs, β = 1) on dSprites",
       "Weakly supervised (Locatello et al. 2020): trained on pairs of images that differ in one "
       "unknown factor; the pair's posteriors are averaged on the latents where they agree."),
    _p("adatcvae-b6", "betatcvae", dict(beta=6.0, pairs=True),
       "β-TCVAE (β = 6) on pairs, dSprites",
       "Chen et al. 2018's total-correlation penalty (β = 6) on the paired data order of "
       "Ada-GVAE (weakly supervised)."),
)

METRIC_HELDOUT = 16_384
"""Held-out images encoded for the metrics: a seeded half of ``DSprites("heldout")``, enough
for disentanglement_lib's sample sizes (10,000 + 5,000) and half the encoding time."""
RECON_HELDOUT = 4_096
"""Held-out images for the reconstruction error and KL (decoding is the costly half)."""
CARD_METRICS = ("beta_vae", "factor_vae", "mig", "dci", "sap", "informativeness", "recon", "kl")


def make_model(kind: str, **config) -> BetaVAE:
    cls, cfg = MODELS[kind]
    names = {f for f in cfg.__dataclass_fields__}
    return cls(cfg(**{k: v for k, v in config.items() if k in names}))


def training_data(pairs: bool):
    from unsup.data.dsprites import DSprites, DSpritesPairs

    return DSpritesPairs() if pairs else DSprites("train")


def build(preset: Preset):
    data = training_data(bool(preset.config.get("pairs")))
    model = make_model(preset.kind, **preset.config, n_data=len(data))
    return model, data, data.card()


EVAL_SEEDS = (0, 1, 2)
"""The seeds of the card's held-out evaluation: every metric is sampled (which held-out images,
the BetaVAE and FactorVAE votes, the MIG/DCI/SAP subsets and classifiers, the reconstruction's
latent draws), so each is measured once per seed and the card keeps the mean under its name and
each seed's value in ``per_seed`` (see :mod:`unsup.metrics.seeds`)."""


def evaluate(model: BetaVAE, *, seed: int | None = None, seeds=EVAL_SEEDS,
             fast: bool = False) -> dict[str, Any]:
    """Every metric of the page for ``model`` on the held-out dSprites images, measured once per
    seed of ``seeds`` (or for ``seed`` alone) with fixed seeds, so a recomputation reproduces the
    card exactly: the five disentanglement scores, reconstruction and KL (nats per image), each
    the mean over the seeds with the values in ``per_seed``, and, under ``extra_metrics``, the
    KL per latent and the normalised latent x factor MI matrix (averaged over the seeds).
    ``fast``: a quarter of the images (tests only)."""
    from unsup.metrics import seeds as S

    used = (int(seed),) if seed is not None else tuple(int(s) for s in seeds)
    runs = [_evaluate_once(model, s, fast) for s in used]
    out = S.combine(runs, used, CARD_METRICS, digits={k: 4 for k in CARD_METRICS})
    out["extra_metrics"] = {
        "kl_per_dim": [float(v) for v in np.mean([r["extra_metrics"]["kl_per_dim"]
                                                   for r in runs], axis=0)],
        "mi_matrix": np.mean([r["extra_metrics"]["mi_matrix"] for r in runs], axis=0).tolist()}
    return out


def _evaluate_once(model: BetaVAE, seed: int, fast: bool) -> dict[str, Any]:
    """The held-out metrics of one seed (see :func:`evaluate`)."""
    from unsup.data.dsprites import DSprites
    from unsup.metrics import disentangle as dis
    from unsup.metrics.elbo import elbo_terms

    model.eval()
    data = DSprites("heldout")
    n = METRIC_HELDOUT // (4 if fast else 1)
    n_rec = min(n, -(-(RECON_HELDOUT // (4 if fast else 1)) // 512) * 512)
    rows = np.random.default_rng(seed).choice(len(data), n, replace=False)  # random order
    with torch.no_grad():
        mus = [model.encode(data[torch.as_tensor(rows[s:s + 512])].to(model.device))
               .cpu().double().numpy() for s in range(0, n, 512)]
    terms = elbo_terms(model, data[torch.as_tensor(rows[:n_rec])], seed=seed, batch=512)
    bank = dis.CodeBank(np.concatenate(mus), data.factors(rows), data.factor_sizes,
                        data.factor_names)
    out = {k: round(float(v), 4) for k, v in dis.all_metrics(bank, seed=seed, fast=fast).items()
           if k in CARD_METRICS}
    out.update(recon=round(terms["recon"], 4), kl=round(terms["kl"], 4), n_heldout=n,
               extra_metrics={"kl_per_dim": [float(v) for v in terms["kl_per_dim"]],
                              "mi_matrix": dis.normalized_mi(bank, seed=seed).tolist()})
    return out


def analysis(model: BetaVAE) -> dict[str, Any]:
    """KL per latent and the normalised latent x factor MI matrix: from the card when training
    stored them, else measured now on 4,096 held-out images (a few seconds)."""
    extra = (model.card_ or {}).get("extra_metrics") or {}
    if "kl_per_dim" in extra and "mi_matrix" in extra:
        return {"kl_per_dim": extra["kl_per_dim"], "mi_matrix": extra["mi_matrix"]}
    from unsup.data.dsprites import DSprites
    from unsup.metrics import disentangle as dis
    from unsup.metrics.elbo import elbo_terms

    held = DSprites("heldout")
    rows = np.sort(np.random.default_rng(0).choice(len(held), 4096, replace=False))
    x = held[torch.as_tensor(rows)]
    with torch.no_grad():
        mu = model.encode(x)
    bank = dis.CodeBank(mu.double().numpy(), held.factors(rows), held.factor_sizes,
                        held.factor_names)
    return {"kl_per_dim": [float(v) for v in elbo_terms(model, x, batch=512)["kl_per_dim"]],
            "mi_matrix": dis.normalized_mi(bank).tolist()}


@torch.no_grad()
def traversal(model, x: torch.Tensor, order=None, n_steps: int = 7, span: float = 3.0,
              relative: bool = False) -> np.ndarray:
    """Decoded traversals of one image's code: (len(order), n_steps, s, s) float in [0, 1].

    Row r moves latent ``order[r]`` over ``n_steps`` values from -span to +span (added to the
    image's own value if ``relative``), the other latents staying at the image's code (the
    posterior mean of ``x``, shape (1, 1, s, s)).
    """
    model.eval()
    z0 = model.encode(x.to(model.device))[0]  # (d,)
    d = z0.shape[0]
    order = list(range(d)) if order is None else [int(i) for i in order]
    values = torch.linspace(-span, span, n_steps, device=z0.device)
    z = z0.repeat(len(order), n_steps, 1)  # (rows, steps, d)
    for r, j in enumerate(order):
        z[r, :, j] = values + (z0[j] if relative else 0.0)
    imgs = model.decode(z.view(-1, d))  # (rows*steps, 1, s, s)
    return imgs.view(len(order), n_steps, *imgs.shape[-2:]).cpu().numpy()


def kind_title(kind: str, pairs: bool) -> str:
    return "Ada-GVAE" if pairs and kind == "betavae" else KIND_LABELS[kind]


def training_spec(*, kind: str = "betavae", beta: float = 4.0, steps: int = 5_000,
                  pairs: bool = False, owner: str = "", resume=None):
    """A :class:`unsup.jobs.JobSpec` for the page's "Train" section: the shipped architecture
    and recipe (batches of 32, lr 1e-3) with the chosen kind, β, data order (``pairs``: the
    weakly supervised Ada-GVAE pairs) and number of steps, on the dSprites training split.
    ``resume``: a user run's weights to continue for ``steps`` more steps."""
    from unsup.data.dsprites import DSprites
    from unsup.recipes import runs

    run = runs.plan(resume, data="dsprites")
    if run.resume is not None:
        kind = run.resume.card.get("kind", kind)
        pairs = bool(run.config.get("pairs"))
    fixed_z = torch.randn(6, 10, generator=torch.Generator().manual_seed(1))
    shown = torch.arange(0, 704_512, 704_512 // 6)[:6]

    def preview(model):
        with torch.no_grad():
            x = DSprites("train")[shown].to(model.device)
            imgs = torch.cat([model.decode(fixed_z[:, :model.config.n_latent].to(model.device)),
                              model.reconstruct(x)])
        return [im[0].cpu().numpy() for im in imgs]

    def finish(model, job):
        # the held-out evaluation of the shipped models, stored in the run's card by the runner,
        # so a finished run opens with its numbers and latents (issue 21, part 14)
        job.phase("measuring the disentanglement scores and latents on held-out sprites")
        return {**evaluate(model), "measured_step": int(model.step_)}

    on_pairs = " on pairs" if pairs else ""
    return run.spec(
        title=f"{kind_title(kind, pairs)} β={beta:g}{on_pairs}, {steps:,} steps",
        load=lambda: training_data(pairs),
        reading="preparing dSprites (737,280 sprites, drawn as they are needed)",
        model=lambda data: make_model(kind, **RECIPE, beta=float(beta), pairs=bool(pairs),
                                      n_data=len(data)),
        data_card=lambda data: data.card(), steps=steps, page="beta-vae", owner=owner,
        checkpoint_every=1_000, preview=preview, finish=finish,
        again=lambda path, more: training_spec(steps=int(more), resume=path, owner=owner))


def recon_error(model, x: torch.Tensor) -> float:
    """−log p(x|z) of one image at its code's mean, in nats (Bernoulli, as in training)."""
    from unsup.models.vae import bernoulli_nll

    with torch.no_grad():
        return float(bernoulli_nll(model.decode_logits(model.encode(x)), x)[0])


def thumbnail():
    """The home card: dSprites rows where one factor moves at a time (position x, position y,
    scale, orientation, shape), as an ideal traversal would show."""
    from PIL import Image, ImageDraw

    from unsup.data.dsprites import render
    from unsup.viz.images import grid as image_grid

    base = np.array([2, 3, 4, 16, 16])
    rows = []
    for k, span in ((3, np.linspace(2, 29, 8)), (4, np.linspace(2, 29, 8)),
                    (1, np.linspace(0, 5, 8)), (2, np.linspace(0, 9, 8)),
                    (0, [0, 0, 1, 1, 2, 2, 0, 1])):
        f = np.repeat(base[None], 8, 0)
        f[:, k] = np.round(span).astype(int)
        rows.append(render(f).numpy()[:, 0])
    tiles = np.concatenate(rows)  # (40, 64, 64)
    img = image_grid(tiles, 8, pad=1, pad_value=0.3).convert("RGB")
    img = img.resize((320, 200), Image.Resampling.LANCZOS)
    ImageDraw.Draw(img).text((4, 186), "one latent, one factor", fill=(255, 210, 90))
    return img


FAMILY = Family(
    name="betavae",
    label="Disentangling VAEs (dSprites)",
    models=(BetaVAE, BetaTCVAE, FactorVAE),
    kind_labels=KIND_LABELS,
    presets=PRESETS,
    build=build,
    evaluate=evaluate,
    data={"dsprites": "dSprites (737,280 sprites, five known factors)"},
    page=PageInfo("beta-vae", "β-VAE traversals", ":material/explore:", "app_pages/beta_vae.py",
                  "Disentanglement on dSprites: one latent, one factor, measured.",
                  "unsup.recipes.betavae:thumbnail", order=30),
    warm=("unsup.recipes.betavae", "unsup.ui.betavae", "unsup.viz.betavae"),
    headline=("mig", "beta_vae", "factor_vae", "recon"),
    bench=("bench_betavae.py",),
)
