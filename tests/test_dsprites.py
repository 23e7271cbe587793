"""dSprites generated to its published specification (unsup.data.dsprites)."""

import numpy as np
import pytest
import torch

from unsup.data import dsprites as D


def test_spec_sizes_and_values():
    assert D.FACTOR_SIZES == (3, 6, 40, 32, 32)
    assert D.N_IMAGES == 737_280
    np.testing.assert_allclose(D.FACTOR_VALUES[1], np.linspace(0.5, 1, 6))
    ori = D.FACTOR_VALUES[2]
    assert len(ori) == 40 and ori[0] == 0 and ori[-1] < 2 * np.pi
    np.testing.assert_allclose(np.diff(ori), 2 * np.pi / 40)
    np.testing.assert_allclose(D.FACTOR_VALUES[3], np.linspace(0, 1, 32))


def test_index_factor_round_trip_and_published_order():
    idx = np.random.default_rng(0).integers(0, D.N_IMAGES, 5000)
    np.testing.assert_array_equal(D.factors_to_index(D.index_to_factors(idx)), idx)
    # last factor (position y) fastest, shape slowest
    np.testing.assert_array_equal(D.index_to_factors(1), [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(D.index_to_factors(32), [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(D.index_to_factors(245_760), [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(D.index_to_factors(D.N_IMAGES - 1), [2, 5, 39, 31, 31])


def test_images_are_binary_and_shapes_distinct():
    x = D.render([[s, 5, 0, 16, 16] for s in range(3)])
    assert x.shape == (3, 1, 64, 64) and x.dtype == torch.float32
    assert set(torch.unique(x).tolist()) <= {0.0, 1.0}
    for a in range(3):
        for b in range(a + 1, 3):
            assert (x[a] != x[b]).sum() > 20
    area = x.sum((1, 2, 3))
    assert area[0] > area[2] > area[1] > 50  # square > heart > ellipse


def test_scale_monotone_in_pixel_count():
    for shape in range(3):
        area = D.render([[shape, s, 3, 16, 16] for s in range(6)]).sum((1, 2, 3))
        assert torch.all(area[1:] > area[:-1]), area


def test_square_rotation_invariance_at_90_degrees():
    a = D.render([[0, 4, 0, 16, 16]])
    b = D.render([[0, 4, 10, 16, 16]])  # 10 steps of 9 degrees
    assert (a != b).sum() <= 4
    c = D.render([[0, 4, 5, 16, 16]])  # 45 degrees: a diamond
    assert (a != c).sum() > 20


def test_position_moves_the_centroid():
    ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    x = D.render([[1, 2, 0, px, 16] for px in (0, 15, 31)])[:, 0]
    cx = (x * xs).sum((1, 2)) / x.sum((1, 2))
    assert cx[0] < cx[1] < cx[2]
    assert 8 < cx[0] < 13 and 51 < cx[2] < 56
    y = D.render([[1, 2, 0, 16, py] for py in (0, 31)])[:, 0]
    cy = (y * ys).sum((1, 2)) / y.sum((1, 2))
    assert cy[0] < cy[1]
    # every sprite stays (mostly) on the canvas
    big = D.render([[s, 5, 5, px, py] for s in range(3) for px in (0, 31) for py in (0, 31)])
    assert big.sum((1, 2, 3)).min() > 100


def test_lazy_dataset_splits_and_batches():
    ds = D.DSprites()
    assert len(ds) == D.N_IMAGES
    idx = torch.tensor([0, 1, 737_279])
    x = ds[idx]
    assert x.shape == (3, 1, 64, 64)
    np.testing.assert_array_equal(ds.factors(idx)[2], [2, 5, 39, 31, 31])
    train, held = D.DSprites("train"), D.DSprites("heldout")
    assert len(train) + len(held) == D.N_IMAGES
    h = held.global_index(np.arange(len(held)))
    t = train.global_index(np.arange(0, len(train), 7))
    assert not np.isin(t, h).any()
    np.testing.assert_array_equal(D.heldout_indices(), h)  # fixed, seeded
    assert torch.equal(held[torch.tensor([5])], D.render(held.factors([5])))
    small = D.DSprites(size=16)[torch.arange(8)]
    assert small.shape == (8, 1, 16, 16)
    assert ds.fingerprint() == D.DSprites().fingerprint()
    assert train.fingerprint() != ds.fingerprint()


def test_pairs_differ_in_exactly_one_factor_and_avoid_heldout():
    pairs = D.DSpritesPairs()
    idx = torch.arange(3000, 23000)
    f = pairs.pair_factors(idx)
    changed = (f[0::2] != f[1::2]).sum(1)
    assert (changed == 1).mean() > 0.995 and changed.max() == 1  # a few pairs are one image twice
    which = np.argmax(f[0::2] != f[1::2], axis=1)[changed == 1]
    assert np.bincount(which, minlength=5).min() > 1700  # each factor changes in ~1/5 of pairs
    assert not np.isin(D.factors_to_index(f), D.heldout_indices()).any()
    assert np.array_equal(f[0::2], pairs.factors(idx[0::2]))  # first of a pair: the item itself
    assert np.array_equal(pairs.pair_factors(idx), f)  # a function of idx: exact resume
    x = pairs[idx[:8]]
    assert x.shape == (8, 1, 64, 64) and torch.equal(x, D.render(f[:8]))
    with pytest.raises(ValueError):
        pairs.pair_factors(idx[:3])
