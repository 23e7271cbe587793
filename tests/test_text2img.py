"""GAN applications (issue 24), part 3: text to image on dSprites. The StackGAN model's parts
and training contract, the sprite reader, the evaluation, the shipped models against their cards
and the issue's targets, and the page section."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from unsup import checkpoints, families, kinds, paths
from unsup.data import captions as C
from unsup.data import dsprites as D
from unsup.models import stackgan as S
from unsup.models.sprite_reader import SpriteReader, SpriteReaderConfig
from unsup.models.stackgan import StackGAN, StackGANConfig
from unsup.recipes import text2img as T
from unsup.train import fit

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    from conftest import _one_thread_then_stop_jobs

    yield from _one_thread_then_stop_jobs(monkeypatch, "gan-apps")


def shipped(name: str):
    if not checkpoints.weights_path(paths.SHIPPED_DIR / name).exists():
        pytest.skip(f"{name} is not shipped (python -m unsup train {name} --out checkpoints)")
    return checkpoints.load(paths.SHIPPED_DIR / name)


def _rows(n: int, size: int = 16, seed: int = 0) -> T.SpriteRows:
    idx = np.random.default_rng(seed).choice(T.train_indices(True), n, replace=False)
    return T.SpriteRows(np.sort(idx), size=size)


# -- the model -----------------------------------------------------------------------------------
def test_the_family_knows_both_kinds_and_presets():
    fam = families.of_kind("stackgan")
    assert fam.name == "ganapps" and families.of_kind("sprite_reader") is fam
    names = [p.name for p in fam.presets]
    assert "t2i-dsprites" in names and "t2i-reader" in names
    assert kinds.model_class("stackgan") is StackGAN


def test_the_kl_term_is_the_closed_form():
    mu = torch.tensor([[0.5, -1.0]])
    logvar = torch.tensor([[0.0, np.log(4.0)]])
    # 0.5 * sum(mu² + σ² - 1 - log σ²) = 0.5 * ((0.25 + 1 - 1 - 0) + (1 + 4 - 1 - log 4))
    want = 0.5 * (0.25 + (4.0 - np.log(4.0)))
    assert float(S.kl_normal(mu, logvar)) == pytest.approx(want, rel=1e-6)
    assert float(S.kl_normal(torch.zeros(3, 4), torch.zeros(3, 4))) == 0.0


def test_the_wrong_sentences_are_the_batch_rolled():
    ids = torch.arange(12).view(4, 3)
    wrong = S.mismatched(ids)
    assert torch.equal(wrong[1:], ids[:-1]) and torch.equal(wrong[0], ids[-1])


def test_shapes_and_a_seed_gives_the_same_drawings():
    m = StackGAN(StackGANConfig.tiny())
    ids = C.encode(["a small heart on the left", "วงรีใหญ่ ตรงกลาง"])
    a1, a2 = m.generate(ids, seed=3)
    b1, b2 = m.generate(ids, seed=3)
    assert a1.shape == (2, 1, 8, 8) and a2.shape == (2, 1, 16, 16)
    assert torch.equal(a2, b2) and torch.equal(a1, b1)
    assert not torch.equal(m.generate(ids, seed=4)[1], a2)
    assert float(a2.min()) >= 0 and float(a2.max()) <= 1


def test_stage_one_trains_first_then_stays_frozen_in_stage_two():
    cfg = StackGANConfig.tiny(stage1_steps=2)
    m = StackGAN(cfg)
    data = _rows(64)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    fit(m, data, steps=2, device="cpu", log_every=1)
    after1 = {k: v.clone() for k, v in m.state_dict().items()}
    moved = {k for k in before if not torch.equal(before[k], after1[k])}
    assert any(k.startswith("g1.") for k in moved) and any(k.startswith("d1.") for k in moved)
    assert any(k.startswith("text.") for k in moved)
    assert not any(k.startswith(("g2.", "d2.", "ca2.")) for k in moved)
    fit(m, data, steps=2, device="cpu", log_every=1)
    after2 = m.state_dict()
    moved2 = {k for k in after1 if not torch.equal(after1[k], after2[k])}
    assert any(k.startswith("g2.") for k in moved2) and any(k.startswith("d2.") for k in moved2)
    assert not any(k.startswith(("g1.", "d1.", "text.", "ca1.")) for k in moved2), \
        sorted(k for k in moved2 if k.startswith(("g1.", "d1.", "text.", "ca1.")))


def test_fit_resume_equals_an_uninterrupted_run(tmp_path):
    """N steps, save, load with the optimizers, M more == N + M straight, across the switch
    from stage I to stage II (the captions come from the reseeded rng)."""
    cfg = StackGANConfig.tiny(stage1_steps=2)
    data = _rows(64, seed=1)
    n, m = 3, 2
    straight = StackGAN(cfg)
    fit(straight, data, steps=n + m, device="cpu", log_every=1)
    part = StackGAN(cfg)
    path = tmp_path / "run" / "model"
    res = fit(part, data, steps=n + m, device="cpu", log_every=1, checkpoint_path=path,
              checkpoint_every=1, should_stop=lambda: part.step_ >= n)
    assert res.stopped and part.step_ == n
    resumed = checkpoints.load(path, optimizer=True)
    assert type(resumed) is StackGAN and resumed.step_ == n
    fit(resumed, data, steps=m, device="cpu", log_every=1)
    a, b = straight.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    assert dataclasses.asdict(resumed.config) == dataclasses.asdict(cfg)


def test_training_rows_never_show_a_held_out_combination():
    idx = T.train_indices(True)
    assert not C.is_heldout_combo(D.index_to_factors(idx[::37])).any()
    assert set(idx[::53]).isdisjoint(D.heldout_indices())
    rows = T.SpriteRows(idx[:5])
    batch = rows[torch.arange(5)]
    f = D.index_to_factors(idx[:5])
    assert torch.equal(batch[:, :5].long(), torch.as_tensor(f))
    assert torch.equal(batch[:, 5:].view(5, 1, 64, 64), D.render(f))


def test_the_reader_degradation_keeps_pixels_in_range_and_is_seeded():
    r = SpriteReader(SpriteReaderConfig.tiny(degrade=1.0))
    x = D.render(D.index_to_factors(np.arange(0, 5000, 500)), 16)
    r.rng.manual_seed(5)
    a = r.degrade(x)
    r.rng.manual_seed(5)
    b = r.degrade(x)
    assert torch.equal(a, b) and float(a.min()) >= 0 and float(a.max()) <= 1
    assert not torch.equal(a, x)
    assert torch.equal(SpriteReader(SpriteReaderConfig.tiny(degrade=0.0)).degrade(x), x)


def test_bins_follow_the_caption_grammar():
    f = np.array([[2, 5, 0, 0, 31], [0, 0, 0, 15, 11], [1, 3, 0, 21, 10]])
    b = T.bins(f)
    assert b["x"].tolist() == [0, 1, 2] and b["y"].tolist() == [2, 1, 0]
    assert b["cell"].tolist() == [6, 4, 2]


def test_the_first_example_names_a_held_out_combination():
    r = C.read(T.EXAMPLES[0])
    row = np.array([[r["shape"], r["scale"], 0, C.X_BINS[r["x"]][0], C.Y_BINS[r["y"]][0]]])
    assert C.is_heldout_combo(row)[0]


def test_the_evaluation_sentences_name_held_out_combinations_in_both_languages():
    rows, texts, langs = T.eval_set(40)
    assert C.is_heldout_combo(rows).all() and len(texts) == 40
    assert langs.count("en") == 20 and langs.count("th") == 20
    for row, text in zip(rows, texts):
        r = C.read(text)
        assert not r["unknown"]
        assert (r["shape"], r["scale"]) == (row[0], row[1])
        b = T.bins(row[None])
        assert (1 if r["x"] is None else r["x"]) == b["x"][0]
        assert (1 if r["y"] is None else r["y"]) == b["y"][0]
    seen, _, _ = T.eval_set(40, heldout=False)
    assert not C.is_heldout_combo(seen).any()


# -- the shipped models ---------------------------------------------------------------------------
def test_the_shipped_reader_reads_real_sprites_as_its_card_says():
    model = shipped("t2i-reader")
    card = checkpoints.find("t2i-reader").card["metrics"]
    m = T.evaluate(model)
    for k in ("acc_shape", "acc_scale", "acc_cell"):
        assert m[k] == pytest.approx(card[k], abs=1e-4)
    assert m["acc_cell"] >= 0.98 and m["acc_shape"] >= 0.9 and m["acc_scale"] >= 0.9


@pytest.mark.slow
def test_the_shipped_stackgan_is_what_its_card_says():
    model = shipped("t2i-dsprites")
    shipped("t2i-reader")
    card = checkpoints.find("t2i-dsprites").card["metrics"]
    m = T.evaluate(model)
    for k in ("s1_acc_shape", "s2_acc_shape", "s2_acc_scale", "s2_acc_cell", "s1_acc_cell"):
        assert m[k] == pytest.approx(card[k], abs=2e-3), k
    for k in ("s1_fd", "s2_fd", "real_fd"):
        assert m[k] == pytest.approx(card[k], rel=0.02), k


@pytest.mark.xfail(strict=True, reason="issue 24's text-to-image targets are not all met: "
                   "stage II is closer to real sprites than stage I (Fréchet distance 1,589 "
                   "against 2,150: met), but on held-out combinations it reads back shape 51.5%, "
                   "scale 35.4% and position cell 71.1% (target ≥ 80% each)")
def test_the_shipped_stackgan_meets_the_issues_targets():
    """Every factor at >= 80% at stage II on held-out combinations, far above chance; stage II
    closer to real sprites than stage I (from the card, which the test above recomputes)."""
    shipped("t2i-dsprites")
    m = checkpoints.find("t2i-dsprites").card["metrics"]
    assert m["s2_fd"] < m["s1_fd"]
    for k in ("shape", "scale", "cell"):
        assert m[f"s2_acc_{k}"] > m[f"chance_{k}"]
        assert m[f"s2_acc_{k}"] >= 0.8, (k, m[f"s2_acc_{k}"])


def test_the_shipped_stackgan_follows_the_sentence_above_chance_and_sharpens():
    """What the shipped model does meet (from the card, recomputed above): stage II is closer
    to real sprites than stage I, and every factor is read back above chance at stage II, the
    place at more than five times chance."""
    shipped("t2i-dsprites")
    m = checkpoints.find("t2i-dsprites").card["metrics"]
    assert m["s2_fd"] < m["s1_fd"] and m["real_fd"] < m["s2_fd"]
    for k in ("shape", "scale", "cell"):
        assert m[f"s2_acc_{k}"] > 1.4 * m[f"chance_{k}"], k
    assert m["s2_acc_cell"] > 5 * m["chance_cell"]


# -- the page ------------------------------------------------------------------------------------
def run_page(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "gan_apps.py"), default_timeout=120)
    at.session_state["ga_section"] = "Text to image"
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_section_draws_both_stages_and_names_what_the_sentence_says():
    shipped("t2i-dsprites")
    at = run_page()
    assert len(at.get("image")) >= 1
    assert "stage II" in at.get("image")[0].proto.imgs[0].caption
    assert any("The sentence names" in c.value and "square" in c.value and "held out" in c.value
               for c in at.caption)
    assert at.dataframe[0].value["what"].iloc[0] == "shape (3)"
    assert not at.warning


def test_unknown_words_are_named_not_silently_ignored():
    shipped("t2i-dsprites")
    at = run_page(t2i_text="a huge purple ellipse on the left")
    assert any("purple" in w.value and "Not known" in w.value for w in at.warning)
    at = run_page(t2i_text="หัวใจสีม่วง ด้านซ้าย")
    assert any("สีม่วง" in w.value for w in at.warning)
    assert any("heart" in c.value for c in at.caption)


def test_the_train_form_offers_text_to_image(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_file(str(ROOT / "app_pages" / "gan_apps.py"), default_timeout=120)
    at.session_state["ga_section"] = "Train"
    at.session_state["gt_what"] = "Text to image"
    at.run()
    assert not at.exception
    assert at.number_input(key="t2t_steps").value == T.JOB_STEPS
    assert "t2t_start" in [b.key for b in at.button]


def test_the_auxiliary_word_loss_asks_only_for_the_sentences_words():
    ids = torch.tensor([[3, 5, 0], [4, 0, 0]])
    t = S.word_targets(ids, 6)
    assert t.tolist() == [[0, 0, 0, 1, 0, 1], [0, 0, 0, 0, 1, 0]]
    logits = torch.zeros(2, 6)
    logits[0, 3] = 100.0  # word 3 found, word 5 not (log 2 each at logit 0)
    want = (0.0 + np.log(2.0) + np.log(2.0)) / 3
    assert float(S.aux_generator_loss(logits, ids)) == pytest.approx(want, rel=1e-5)


def test_the_projection_term_makes_the_logit_depend_on_the_sentence():
    cfg = StackGANConfig.tiny(d_projection=True, vocab_size=C.VOCAB_SIZE)
    d = S.MatchingDiscriminator(cfg, 16)
    x = torch.rand(2, 1, 16, 16)
    a = d(x, C.encode(["a heart", "a heart"]))
    b = d(x, C.encode(["a square", "a square"]))
    assert a.shape == (2,) and not torch.allclose(a, b)
    with torch.no_grad():
        d.project.weight.zero_()
        d.project.bias.zero_()
    plain = S.MatchingDiscriminator(StackGANConfig.tiny(vocab_size=C.VOCAB_SIZE), 16)
    plain.load_state_dict({k: v for k, v in d.state_dict().items()
                           if not k.startswith("project.")})
    ids = C.encode(["a heart", "a box"])
    assert torch.allclose(d(x, ids), plain(x, ids))


def test_a_stackgan_job_trains_measures_and_resumes(tmp_path, monkeypatch):
    """The Train form's job: stage I then stage II, a measured checkpoint (the held-out
    numbers of the card), previews of both stages, and Resume adding steps."""
    from unsup.jobs import ThreadRunner

    shipped("t2i-reader")
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    small = dict(g_width=8, g2_width=8, d_width=4, embed_dim=8, text_dim=8, ca_dim=4, z_dim=4,
                 n_res=1, batch_size=8)
    spec = T.training_spec(steps=4, **small)
    assert spec.title == "StackGAN on captioned dSprites, 4 steps" and spec.page == "gan-apps"
    runner = ThreadRunner()
    snap = runner.wait(runner.submit(spec), timeout=600)
    assert snap.status == "done", snap.error
    assert snap.previews and snap.previews[-1].shape[:2] == (2 * 64 + 3, 4 * 64 + 5)
    model = checkpoints.load(snap.checkpoint)
    assert model.step_ == 4 and model.config.stage1_steps == 2 and model.config.g_width == 8
    m = model.card_["metrics"]
    assert {"s1_acc_shape", "s2_acc_cell", "s2_fd", "real_fd"} <= set(m)
    snap2 = runner.wait(runner.submit(T.training_spec(steps=2, resume=snap.checkpoint)),
                        timeout=600)
    assert snap2.status == "done", snap2.error
    again = checkpoints.load(snap2.checkpoint)
    assert again.step_ == 6 and again.config.stage1_steps == 2
