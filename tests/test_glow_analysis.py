"""Glow's attribute directions and out-of-distribution likelihoods (unsup.recipes.glow_analysis;
issue 23, part 2): the pixel measures measure what they say, moving a held-out digit along the
"thickness" direction makes its strokes thicker and heavier (directions found without labels on
training digits, checked on held-out ones), and the shipped Glow's stored analysis is the one
its weights give."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unsup import checkpoints, paths
from unsup.data.images import training_tensor
from unsup.recipes import glow_analysis as A


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _bar(width: int, shear: float = 0.0) -> np.ndarray:
    """A vertical bar of ``width`` pixels in a 28x28 image, sheared by ``shear`` pixels of x per
    pixel of height (the top to the right when > 0)."""
    img = np.zeros((28, 28))
    for row in range(4, 24):
        height = 27 - row  # y up
        x0 = int(round(12 + shear * (height - 13.5)))
        img[row, x0:x0 + width] = 1.0
    return img


def test_pixel_measures():
    x = np.stack([_bar(1), _bar(3), _bar(3, 0.4), _bar(3, -0.4)])[:, None]
    a = A.attributes(x)
    assert a["thickness"][1] > a["thickness"][0] * 2  # 3 px against 1 px wide
    assert 2.4 < a["thickness"][1] < 3.2
    assert abs(a["slant"][1]) < 0.02
    assert a["slant"][2] == pytest.approx(0.4, abs=0.06)
    assert a["slant"][3] == pytest.approx(-0.4, abs=0.06)
    assert a["ink"][1] == pytest.approx(3 * a["ink"][0])
    blank = A.attributes(np.zeros((1, 1, 28, 28)))
    assert blank["thickness"][0] == 0 and blank["slant"][0] == 0  # defined, not NaN


@pytest.fixture(scope="module")
def shipped():
    path = paths.SHIPPED_DIR / "glow-mnist"
    if not checkpoints.weights_path(path).exists():
        pytest.skip("no shipped Glow")
    return checkpoints.load(path)


@pytest.fixture(scope="module")
def analysis(shipped):
    """The analysis recomputed from 1,000 training digits (the shipped one uses all 4,500)."""
    torch.set_num_threads(1)
    return A.compute(shipped, training_tensor("mnist", 28, binary=False)[:1_000])


def test_moving_along_thickness_thickens_held_out_digits(shipped, analysis):
    held = A.ood_sets()["heldout"][:24]
    alphas = [-0.75, 0.0, 0.75]
    out = {name: np.zeros((len(held), 3)) for name in ("thickness", "ink", "slant")}
    slant = np.zeros((len(held), 3))
    for i in range(len(held)):
        imgs, finite = A.move(shipped, held[i:i + 1], analysis["directions"]["thickness"], alphas)
        assert bool(finite.all())
        m = A.attributes(imgs)
        for name in ("thickness", "ink"):
            out[name][i] = m[name]
        imgs, finite = A.move(shipped, held[i:i + 1], analysis["directions"]["slant"], alphas)
        slant[i] = A.attributes(imgs)["slant"]
    for name in ("thickness", "ink"):  # both thicker and heavier, for most digits and on average
        up = out[name][:, 2] > out[name][:, 1]
        down = out[name][:, 0] < out[name][:, 1]
        assert up.mean() >= 0.8 and down.mean() >= 0.8, (name, up.mean(), down.mean())
    assert out["ink"][:, 2].mean() > 1.2 * out["ink"][:, 1].mean()
    assert ((slant[:, 2] > slant[:, 1]).mean() >= 0.8
            and (slant[:, 0] < slant[:, 1]).mean() >= 0.8)


def test_the_quarters_differ_and_the_sets_are_scored(analysis):
    lo, hi = analysis["quartiles"]["thickness"]
    assert hi > 1.5 * lo
    bpd = analysis["bpd"]
    assert len(bpd["heldout"]) == len(bpd["digits8"]) == len(bpd["noise"]) == A.N_SET
    med = {k: np.median([v for v in vals if v is not None]) for k, vals in bpd.items()}
    assert med["noise"] > med["heldout"]  # noise is far less likely than digits
    text = A.nalisnick_sentence(bpd)
    assert f"{med['heldout']:.2f}" in text


def test_the_shipped_analysis_is_the_one_its_weights_give(shipped):
    """The stored analysis of the shipped Glow (read by the page) exists for its current weights
    and its numbers are this model's: held-out bits/dim of a few digits recomputed."""
    path = paths.SHIPPED_DIR / "glow-mnist"
    stored = A.stored(checkpoints.weights_path(path))
    assert stored is not None, "run: python scripts/precompute_derived.py glow"
    sets = A.ood_sets()
    for name in ("heldout", "digits8", "blank"):
        again = shipped.bits_per_dim(sets[name], noise_seed=0)[:5].numpy()
        np.testing.assert_allclose(stored["bpd"][name][:5], again, atol=2e-3)
    assert stored["n_train"] == 4_500
    assert set(stored["directions"]) == set(A.ATTRIBUTES)
    assert all(len(d) == 784 for d in stored["directions"].values())
