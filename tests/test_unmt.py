"""Unsupervised NMT (Lample et al. 2018): the noise model, a supervised toy translation that
needs reordering, an unsupervised toy run from aligned embeddings, batched greedy decoding, and
exact resume through :func:`unsup.train.fit` across the phase switches."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from unsup import checkpoints
from unsup.models.unmt import EOS, N_SPECIAL, PAD, UNMT, UNMTConfig, add_noise
from unsup.train import fit

N_TOY = 20  # words per toy language (ids 4..23)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: on shared cores two threads spin against other work (10x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _sentences(n: int, lo: int, hi: int, width: int, g: torch.Generator) -> torch.Tensor:
    """``n`` rows of lo..hi uniform random words, then EOS, then PAD, width ``width``."""
    out = torch.full((n, width), PAD, dtype=torch.long)
    lens = torch.randint(lo, hi + 1, (n,), generator=g)
    for i, m in enumerate(lens.tolist()):
        out[i, :m] = torch.randint(N_SPECIAL, N_SPECIAL + N_TOY, (m,), generator=g)
        out[i, m] = EOS
    return out


def _perm() -> torch.Tensor:
    """The toy lexicon: local id w of language 0 translates to perm[w] of language 1."""
    g = torch.Generator().manual_seed(123)
    p = torch.arange(N_SPECIAL + N_TOY)
    p[N_SPECIAL:] = N_SPECIAL + torch.randperm(N_TOY, generator=g)
    return p


def _to_lang1(x0: torch.Tensor, reverse: bool) -> torch.Tensor:
    """Translate language-0 rows: map every word by the lexicon, optionally reverse the words."""
    p = _perm()
    out = torch.full_like(x0, PAD)
    for i, row in enumerate(x0.tolist()):
        words = [int(p[w]) for w in row if w not in (PAD, EOS)]
        if reverse:
            words = words[::-1]
        out[i, :len(words)] = torch.tensor(words, dtype=torch.long)
        out[i, len(words)] = EOS
    return out


def _word_accuracy(pred: torch.Tensor, ref: torch.Tensor) -> float:
    """Share of reference tokens (words and EOS) predicted at their position."""
    t = max(pred.shape[1], ref.shape[1])
    pred = torch.nn.functional.pad(pred, (0, t - pred.shape[1]), value=PAD)
    ref = torch.nn.functional.pad(ref, (0, t - ref.shape[1]), value=PAD)
    on = ref != PAD
    return float((pred[on] == ref[on]).float().mean())


# -- the noise model ----------------------------------------------------------------------------
def _ramp(n_rows: int, n_words: int, width: int) -> torch.Tensor:
    """Rows whose words are 10, 11, ... (the word's value says its original position)."""
    x = torch.full((n_rows, width), PAD, dtype=torch.long)
    x[:, :n_words] = 10 + torch.arange(n_words)
    x[:, n_words] = EOS
    return x


def test_shuffle_moves_no_word_more_than_k_and_keeps_eos_and_pad():
    x = _ramp(400, 30, 34)
    for k in (1, 3):
        y = add_noise(x, torch.Generator().manual_seed(k), p_drop=0.0, k=k)
        assert torch.equal(y[:, 30:], x[:, 30:])  # EOS and PAD in place
        assert torch.equal(y[:, :30].sort(1).values, x[:, :30])  # same words, permuted
        moved = (y[:, :30] - 10 - torch.arange(30)).abs()
        assert int(moved.max()) == k  # bounded by k, and k is reached
        assert float((moved > 0).float().mean()) > 0.15  # a real shuffle
    assert torch.equal(add_noise(x, torch.Generator().manual_seed(0), 0.0, 0), x)  # k=0: none


def test_word_dropout_rate_is_near_p_and_the_rest_keeps_its_order_within_k():
    x = _ramp(1, 3000, 3002)
    y = add_noise(x, torch.Generator().manual_seed(0), p_drop=0.1, k=3)[0]
    n = int(((y != PAD) & (y != EOS)).sum())
    assert abs(n / 3000 - 0.9) < 0.02, n
    assert int(y[n]) == EOS and bool((y[n + 1:] == PAD).all())
    kept = y[:n] - 10  # original positions of the kept words
    assert len(set(kept.tolist())) == n  # no word duplicated
    rank = kept.sort().values  # where each word would sit after the drop, before the shuffle
    pos_of = {int(v): i for i, v in enumerate(rank.tolist())}
    assert max(abs(pos_of[int(v)] - j) for j, v in enumerate(kept.tolist())) <= 3


def test_a_sentence_never_becomes_empty_and_noise_follows_the_generator():
    g = torch.Generator().manual_seed(5)
    x = _sentences(500, 1, 3, 5, g)
    y = add_noise(x, torch.Generator().manual_seed(1), p_drop=0.95, k=3)
    n = ((y != PAD) & (y != EOS)).sum(1)
    assert int(n.min()) == 1 and float((n == 1).float().mean()) > 0.8
    for row_x, row_y in zip(x.tolist(), y.tolist()):
        words = [w for w in row_y if w not in (PAD, EOS)]
        assert set(words) <= set(row_x) and row_y[len(words)] == EOS
    again = add_noise(x, torch.Generator().manual_seed(1), p_drop=0.95, k=3)
    assert torch.equal(y, again)


# -- supervised: the ceiling model learns a translation that needs reordering -------------------
@pytest.fixture(scope="module")
def supervised_model():
    g = torch.Generator().manual_seed(0)
    x0 = _sentences(4000, 5, 8, 10, g)
    data = torch.stack([x0, _to_lang1(x0, reverse=True)], dim=1)  # (n, 2, 10)
    cfg = UNMTConfig.tiny(supervised=True, emb_dim=32, hidden=64, batch_size=32, lr=3e-3,
                          max_len=12, seed=1)
    model = UNMT(cfg)
    fit(model, data, steps=500, device="cpu", log_every=100)
    return model


def test_supervised_mode_learns_a_reordering_translation(supervised_model):
    g = torch.Generator().manual_seed(99)  # held-out sentences
    x0 = _sentences(200, 5, 8, 10, g)
    x1 = _to_lang1(x0, reverse=True)
    acc_01 = _word_accuracy(supervised_model.translate(x0, 0, 1), x1)
    acc_10 = _word_accuracy(supervised_model.translate(x1, 1, 0), x0)
    print(f"held-out token accuracy 0->1 {acc_01:.3f}, 1->0 {acc_10:.3f}")
    assert acc_01 >= 0.9 and acc_10 >= 0.9
    # without the reversal the same words in source order would score low: order was learnt
    assert _word_accuracy(_to_lang1(x0, reverse=False), x1) < 0.4


def test_translate_in_a_batch_equals_one_by_one_and_stops_at_eos(supervised_model):
    g = torch.Generator().manual_seed(7)
    x0 = _sentences(12, 2, 8, 11, g)
    batch = supervised_model.translate(x0, 0, 1)
    for i in range(len(x0)):
        alone = supervised_model.translate(x0[i:i + 1], 0, 1)[0]
        row = batch[i]
        n = int((alone != PAD).sum())
        assert torch.equal(row[:n], alone[:n]) and bool((row[n:] == PAD).all())
        assert int(alone[n - 1]) == EOS and int((alone == EOS).sum()) == 1
    assert batch.shape[1] == int((batch != PAD).sum(1).max())  # no all-PAD column
    # an untrained model that never says EOS is cut at max_len, EOS-terminated
    raw = UNMT(UNMTConfig.tiny(max_len=6)).translate(x0, 0, 1, max_len=4)
    assert raw.shape[1] <= 4
    assert bool(((raw == EOS).sum(1) == 1).all())


# -- unsupervised: denoising + back-translation from aligned embeddings -------------------------
def test_unsupervised_from_aligned_embeddings_translates_far_above_chance():
    g = torch.Generator().manual_seed(3)
    mono0 = _sentences(2000, 4, 7, 9, g)
    mono1 = _to_lang1(_sentences(2000, 4, 7, 9, g), reverse=False)  # unrelated sentences
    data = torch.stack([mono0, mono1], dim=1)
    cfg = UNMTConfig.tiny(emb_dim=16, hidden=48, batch_size=32, lr=3e-3, backtranslate_from=60,
                          bt_every=2, max_len=10, seed=2)
    model = UNMT(cfg)
    vec0 = torch.nn.functional.normalize(torch.randn(N_SPECIAL + N_TOY, 16, generator=g), dim=1)
    vec1 = torch.empty_like(vec0)
    vec1[_perm()] = vec0  # a word and its translation share a vector
    model.set_embeddings(0, vec0, freeze=True)
    model.set_embeddings(1, vec1, freeze=True)
    assert model.config.freeze_embeddings == (True, True)
    res = fit(model, data, steps=400, device="cpu", log_every=50)
    assert res.history[-1]["bt"] > 0  # back-translation was on
    test0 = _sentences(200, 4, 7, 9, torch.Generator().manual_seed(77))
    test1 = _to_lang1(test0, reverse=False)
    acc_01 = _word_accuracy(model.translate(test0, 0, 1), test1)
    acc_10 = _word_accuracy(model.translate(test1, 1, 0), test0)
    print(f"unsupervised toy word accuracy 0->1 {acc_01:.3f}, 1->0 {acc_10:.3f} "
          f"(chance ~{1 / N_TOY:.2f})")
    assert acc_01 > 0.5 and acc_10 > 0.5
    # the frozen word rows did not move
    torch.testing.assert_close(model.net.words[0].detach(), vec0[N_SPECIAL:])


def test_set_embeddings_checks_the_shape():
    model = UNMT(UNMTConfig.tiny())
    with pytest.raises(ValueError):
        model.set_embeddings(0, torch.zeros(5, 16))


# -- exact resume across the back-translation and adversarial switches --------------------------
def test_resume_is_exact_across_the_phase_switches(tmp_path):
    g = torch.Generator().manual_seed(4)
    data = torch.stack([_sentences(64, 3, 8, 10, g), _sentences(64, 3, 8, 10, g)], dim=1)
    cfg = UNMTConfig.tiny(backtranslate_from=3, bt_every=1, bt_refresh=2, adversarial_from=2,
                          dropout=0.1, max_len=10)
    whole = UNMT(cfg)
    res = fit(whole, data, steps=7, device="cpu", log_every=1)
    assert [h["bt"] > 0 for h in res.history[1:]] == [False] * 2 + [True] * 4
    assert [h["adv_d"] > 0 for h in res.history[1:]] == [False] * 1 + [True] * 5
    part = UNMT(cfg)
    fit(part, data, steps=2, device="cpu")
    path = checkpoints.save(part, tmp_path / "unmt", checkpoints.make_card(part, step=2))
    card = checkpoints.read_card(path)
    resumed = UNMT(UNMTConfig(**card["config"]))
    resumed.load_state_dict(load_file(str(path)))
    resumed.step_ = card["step"]
    checkpoints.load_optimizer(resumed, path, card)
    fit(resumed, data, steps=5, device="cpu")
    s1, s2 = whole.state_dict(), resumed.state_dict()
    assert set(s1) == set(s2) and "frozen.out.0.weight" in s1 and "disc.net.0.weight" in s1
    for k in s1:
        torch.testing.assert_close(s1[k], s2[k], rtol=0, atol=0, msg=k)
    # the frozen copy is the model of step 5 (refreshed at 3 and 5), not the current one
    assert not torch.equal(s1["frozen.out.0.weight"], s1["net.out.0.weight"])
    # a finished (compact) checkpoint leaves the copy out and loading puts the weights back
    compact = whole.compact_state(s1)
    assert not any(k.startswith("frozen.") for k in compact)
    again = UNMT(cfg)
    again.load_state_dict(again.complete_state(compact))
    assert torch.equal(again.state_dict()["frozen.out.0.weight"], s1["net.out.0.weight"])
