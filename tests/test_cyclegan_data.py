"""The two-domain sets of CycleGAN (unsup.data.domains): unpaired, held out, known blends."""

import numpy as np
import pytest
import torch

from unsup.data import domains as D
from unsup.data.images import load_split

torch.set_num_threads(1)


def test_mnist_m_blend_is_absolute_difference():
    patch = np.array([0.2, 0.5, 0.9], np.float32)[None, :, None, None] * np.ones((1, 3, 2, 2),
                                                                                  np.float32)
    digit = np.array([[[[0.0, 1.0], [0.5, 0.25]]]], np.float32)
    out = D.mnist_m(digit, patch)
    assert out.shape == (1, 3, 2, 2)
    np.testing.assert_allclose(out[0, :, 0, 0], [0.2, 0.5, 0.9], atol=1e-7)  # background: photo
    np.testing.assert_allclose(out[0, :, 0, 1], [0.8, 0.5, 0.1], atol=1e-7)  # stroke: inverted
    np.testing.assert_allclose(out[0, :, 1, 0], [0.3, 0.0, 0.4], atol=1e-7)


def test_pad_digits_keeps_the_digit_and_refuses_too_small_a_size():
    x = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)
    out = D.pad_digits(x, 32)
    assert out.shape == (2, 3, 32, 32)
    np.testing.assert_array_equal(out[:, 1, 2:30, 2:30], x[:, 0])
    assert out[:, :, :2].sum() == 0 and out[:, :, :, 30:].sum() == 0
    with pytest.raises(ValueError, match="size >= 28"):
        D.pad_digits(x, 16)


def test_digit_domains_are_unpaired_and_held_out():
    pair = D.load_digit_domains(32)
    split = load_split("mnist")
    tr_a, tr_b, te_a, te_b = D.digit_halves()
    assert not set(tr_a) & set(tr_b) and not set(te_a) & set(te_b)  # different digits
    assert len(tr_a) + len(tr_b) == len(split.y_train)
    for arr in (pair.a_train, pair.b_train, pair.a_test, pair.b_test, pair.b_of_a_test):
        assert arr.shape[1:] == (3, 32, 32) and arr.dtype == np.float32
        assert 0.0 <= arr.min() and arr.max() <= 1.0
    np.testing.assert_array_equal(pair.a_train, D.pad_digits(split.x_train[tr_a], 32))
    np.testing.assert_array_equal(pair.y_b_test, split.y_test[te_b])
    # every class in both halves, about equally
    assert np.bincount(pair.y_a_train).min() >= 200 and np.bincount(pair.y_b_train).min() >= 200
    # domain B really is coloured: its channels differ, A's do not
    assert np.abs(pair.b_train[:, 0] - pair.b_train[:, 2]).mean() > 0.03
    assert np.abs(pair.a_train[:, 0] - pair.a_train[:, 2]).max() == 0
    # held-out backgrounds come from photographs no training image uses
    assert not set(D.TRAIN_PHOTOS) & set(D.TEST_PHOTOS)


def test_paired_truth_is_the_same_digit_over_a_held_out_patch():
    pair = D.load_digit_domains(32)
    for src, img, seed in ((pair.a_test, pair.b_of_a_test, 3), (pair.a_of_b_test, pair.b_test, 2)):
        patches = D.photo_patches(D.TEST_PHOTOS, len(src), 32, seed=seed)
        bg, ink = src == 0.0, src == 1.0  # (n, 3, s, s) masks
        assert bg.mean() > 0.5 and ink.sum() > 1000
        np.testing.assert_allclose(img[bg], patches[bg], atol=1e-6)  # background: the photo
        np.testing.assert_allclose(img[ink], 1.0 - patches[ink], atol=1e-6)  # ink: inverted
    # the truth of an A image is not any held-out B image (those are other digits)
    assert not np.allclose(pair.b_test, pair.b_of_a_test[: len(pair.b_test)])


def test_unpaired_indexable_is_seeded_by_index():
    pair = D.load_digit_domains(32)
    data = pair.training_data(seed=0)
    assert len(data) == len(pair.a_train)
    idx = torch.tensor([5, 0, 1999, 5])
    batch = data[idx]
    assert batch.shape == (4, 2, 3, 32, 32)
    np.testing.assert_array_equal(batch[:, 0].numpy(), pair.a_train[idx.numpy()])
    torch.testing.assert_close(batch, data[idx])  # same index, same (a, b)
    torch.testing.assert_close(batch[0], batch[3])
    torch.testing.assert_close(batch, pair.training_data(seed=0)[idx])  # rebuilt: the same
    other = pair.training_data(seed=1)[idx]
    assert not torch.equal(other[:, 1], batch[:, 1])  # another seed pairs differently
    assert torch.equal(other[:, 0], batch[:, 0])
    # partners are a permutation: no B image is used twice when |A| = |B|
    assert len(set(data.partner.tolist())) == len(pair.b_train)


def test_unpaired_indexable_refuses_mismatched_domains():
    with pytest.raises(ValueError, match="one shape"):
        D.UnpairedDomains(np.zeros((4, 3, 8, 8)), np.zeros((4, 1, 8, 8)))
    with pytest.raises(ValueError, match="at least one image"):
        D.UnpairedDomains(np.zeros((4, 3, 8, 8)), np.zeros((0, 3, 8, 8)))


def test_winter_is_paler_colder_and_seeded():
    x = D.photo_patches(D.TRAIN_PHOTOS, 64, 16, seed=5, max_scale=2.0)
    w = D.winter(x, seed=1)
    assert w.shape == x.shape and 0 <= w.min() and w.max() <= 1
    np.testing.assert_array_equal(w, D.winter(x, seed=1))
    assert not np.array_equal(w, D.winter(x, seed=2))  # other snow

    def saturation(v):
        return (v.max(1) - v.min(1)).mean()

    assert saturation(w) < 0.6 * saturation(x) + 0.05
    assert w.mean() > x.mean() + 0.1  # lifted toward white
    assert (w[:, 2] - w[:, 0]).mean() > (x[:, 2] - x[:, 0]).mean() + 0.03  # bluer


def test_photo_pair_shapes_and_truth():
    pair = D.load_photo_domains(16, n_train=40, n_test=10)
    assert pair.a_train.shape == (40, 3, 16, 16) and pair.b_test.shape == (10, 3, 16, 16)
    assert pair.y_a_train is None
    np.testing.assert_array_equal(pair.b_of_a_test, D.winter(pair.a_test, seed=13))
    np.testing.assert_array_equal(pair.b_test, D.winter(pair.a_of_b_test, seed=14))
    assert not np.array_equal(pair.a_train[:10], pair.a_test)
    assert pair.fingerprint() == D.load_photo_domains(16, n_train=40, n_test=10).fingerprint()
    with pytest.raises(KeyError, match="known: digits, photos"):
        D.load_domains("horses")


def test_paired_truth_of_any_a_image():
    pair = D.load_digit_domains(32)
    a = pair.a_test[:6]
    truth = D.paired_truth("digits", a, seed=4)
    np.testing.assert_array_equal(truth, D.paired_truth("digits", a, seed=4))
    assert truth.shape == a.shape
    bg, ink = a == 0.0, a == 1.0
    patches = D.photo_patches(D.TEST_PHOTOS, 6, 32, seed=1_004)
    np.testing.assert_allclose(truth[bg], patches[bg], atol=1e-6)
    np.testing.assert_allclose(truth[ink], 1.0 - patches[ink], atol=1e-6)
    np.testing.assert_array_equal(D.paired_truth("photos", a, seed=2), D.winter(a, seed=1_002))
    with pytest.raises(KeyError, match="known: digits, photos"):
        D.paired_truth("zebras", a)
