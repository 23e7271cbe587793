"""Quality of the shipped β-VAE checkpoints (issue 4, part 4), read from their cards (the
metrics `python -m unsup train` / `eval` stored there, on held-out images with fixed seeds).

Skipped while the checkpoints are not shipped yet.
"""

import numpy as np
import pytest

from unsup import checkpoints
from unsup.models.betavae import PRESETS

SHIPPED = {e.name: e for e in checkpoints.list_models() if e.source == "shipped"
           and e.kind in ("betavae", "betatcvae", "factorvae")}
needs = pytest.mark.skipif(not {"betavae-b1", "betavae-b4"} <= set(SHIPPED)
                           or not any(n.startswith(("betatcvae", "factorvae")) for n in SHIPPED),
                           reason="β-VAE checkpoints not shipped yet (python -m unsup train ...)")


def best_tc_model():
    tc = [e for n, e in SHIPPED.items() if n.startswith(("betatcvae", "factorvae"))]
    return max(tc, key=lambda e: e.card["metrics"]["mig"])


@needs
def test_every_shipped_model_is_a_preset_with_metrics_and_fits_the_budget():
    for name, e in SHIPPED.items():
        assert name in PRESETS
        assert e.card["command"].startswith(f"python -m unsup train {name}")
        assert e.card["data"]["name"] == "dsprites" and e.card["data"]["fingerprint"]
        assert e.card["seconds"] < 2 * 3600
        for k in ("beta_vae", "factor_vae", "mig", "dci", "sap", "recon"):
            assert k in e.card["metrics"], (name, k)


@needs
def test_best_model_disentangles():
    best = max(SHIPPED.values(), key=lambda e: e.card["metrics"]["mig"])
    base = SHIPPED["betavae-b1"].card["metrics"]["mig"]
    m = best.card["metrics"]
    assert m["mig"] >= 0.10
    assert m["mig"] >= 2 * base
    assert m["beta_vae"] >= 0.80
    assert best_tc_model().card["metrics"]["mig"] >= 0.10


@needs
def test_position_and_scale_each_have_their_own_latent():
    best = max(SHIPPED.values(), key=lambda e: e.card["metrics"]["mig"])
    mi = np.asarray(best.card["extra_metrics"]["mi_matrix"])  # (latents, factors)
    owners = [int(np.argmax(mi[:, k])) for k in (1, 3, 4)]  # scale, position x, position y
    assert len(set(owners)) == 3, owners
