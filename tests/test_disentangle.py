"""Disentanglement metrics on synthetic codes with a known answer (issue 4, part 5)."""

import numpy as np
import pytest

from unsup.metrics import disentangle as D

SIZES = (3, 6, 10, 8, 8)  # <= 20 values per factor, so 20-bin discretization loses nothing


@pytest.fixture(scope="module")
def grid():
    g = np.stack(np.meshgrid(*[np.arange(s) for s in SIZES], indexing="ij"), -1).reshape(-1, 5)
    rows = np.random.default_rng(0).choice(len(g), 6000, replace=False)
    return g[rows]


def good_bank(grid, seed=0):
    rng = np.random.default_rng(seed)
    codes = grid / np.array(SIZES) + 0.002 * rng.standard_normal(grid.shape)
    nuisance = 0.01 * rng.standard_normal((len(grid), 3))  # collapsed latents
    return D.CodeBank(np.concatenate([codes, nuisance], 1), grid, SIZES)


def random_bank(grid):
    return D.CodeBank(np.random.default_rng(1).standard_normal((len(grid), 8)), grid, SIZES)


def fast(bank):
    return {
        "beta_vae": D.beta_vae_score(bank, 1000, 500)["beta_vae"],
        "factor_vae": D.factor_vae_score(bank, 1000, 500)["factor_vae"],
        "mig": D.mig(bank, 5000)["mig"],
        "dci": D.dci(bank, 1500, 500)["dci"],
        "sap": D.sap(bank, 2000, 1000)["sap"],
    }


def test_factors_plus_noise_score_perfectly(grid):
    s = fast(good_bank(grid))
    assert s["mig"] > 0.95
    assert s["beta_vae"] > 0.99 and s["factor_vae"] > 0.99
    assert s["dci"] > 0.9
    assert s["sap"] > 0.1


def test_random_codes_score_nothing(grid):
    s = fast(random_bank(grid))
    assert s["mig"] < 0.02
    assert s["dci"] < 0.1
    assert s["sap"] < 0.05
    assert s["beta_vae"] < 0.4 and s["factor_vae"] < 0.4  # chance is 0.2


def test_permuting_latents_changes_no_score(grid):
    for bank in (good_bank(grid), random_bank(grid)):
        perm = np.random.default_rng(3).permutation(bank.codes.shape[1])
        a, b = fast(bank), fast(bank.permuted(perm))
        for k in a:
            assert b[k] == pytest.approx(a[k], abs=0.02 if k == "dci" else 1e-9), k


def test_mixed_codes_score_between(grid):
    bank = good_bank(grid)
    codes = bank.codes.copy()
    codes[:, 3], codes[:, 4] = codes[:, 3] + codes[:, 4], codes[:, 3] - codes[:, 4]  # rotate x, y
    mixed = fast(D.CodeBank(codes, grid, SIZES))
    assert mixed["mig"] < fast(bank)["mig"] - 0.2


def test_mutual_info_matrix_and_entropy_normalisation(grid):
    bank = good_bank(grid)
    m = D.normalized_mi(bank, 5000)
    assert m.shape == (8, 5)
    np.testing.assert_allclose(np.diag(m[:5]), 1.0, atol=0.02)
    assert m[5:].max() < 0.05
    assert np.argmax(m[:5], 1).tolist() == [0, 1, 2, 3, 4]


def test_sampling_with_a_fixed_factor(grid):
    bank = good_bank(grid)
    rng = np.random.default_rng(0)
    values = bank.sample_value(2, (50, 4), rng)
    rows = bank.sample_fixed(2, values, rng)
    np.testing.assert_array_equal(bank.factors[rows, 2], values)


def test_same_seed_same_score(grid):
    bank = random_bank(grid)
    assert D.beta_vae_score(bank, 300, 200, seed=5) == D.beta_vae_score(bank, 300, 200, seed=5)
