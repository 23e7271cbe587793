"""The translation page's "Your own text": words of a file, sizes against the smallest corpus
that aligns, the job on two files, and the section on a finished run."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import wait_job
from unsup import checkpoints, paths
from unsup.data import bilingual as B
from unsup.recipes import translation as R
from unsup.recipes import translation_own as O

ROOT = Path(__file__).resolve().parent.parent


def texts(lang: str, n: int) -> list[str]:
    return [B.to_text(d, lang) for d in B.corpus(lang, n)]


def test_words_of_a_file_in_each_language():
    assert O.tokens("Condo, near the BTS! 2 bedrooms (45.5 sqm).", "en") == [
        "condo", "near", "the", "bts", "2", "bedrooms", "45.5", "sqm"]
    th = O.tokens("คอนโดใกล้ทะเล, 2 ห้องนอน!", "th")
    assert "ทะเล" in th and "2" in th and "," not in th and "!" not in th
    # another language: runs of letters, lowercased, in any script
    assert O.tokens("Квартира у моря — 3 комнаты", "other") == ["квартира", "у", "моря", "3",
                                                                "комнаты"]
    assert O.tokens(None, "en") == [] and O.tokens("  ...  ", "th") == []


def test_a_corpus_too_small_is_refused_with_its_numbers():
    small = O.stats([O.tokens(t, "en") for t in texts("en", 40)], "en")
    big = O.stats([O.tokens(t, "th") for t in texts("th", 1_500)], "th")
    assert O.too_small(big) == []
    why = O.too_small(small, big)
    assert len(why) == 1 and why[0].startswith("The English file has")
    assert f"{small.n_tokens:,} words in all (at least {O.MIN_TOKENS:,}" in why[0]
    assert f"{small.n_words:,} distinct words" in why[0]
    empty = O.stats([[], []], "th")
    assert "0 non-empty rows" in O.too_small(empty)[0]


def test_a_stop_is_honoured_while_words_are_cut_and_while_vectors_are_learnt():
    """The job's read is long on a big file: cutting words asks for Stop every 500 rows, and
    word2vec after every pass (both raise the job's InterruptedError)."""

    class Job:
        calls = 0

        def phase(self, text):
            self.calls += 1
            if self.calls > 2:
                raise InterruptedError("stopped")

    th = texts("th", 1_600)
    with pytest.raises(InterruptedError):
        O.cut(th, "th", Job())
    assert len(O.cut(th[:10], "th", None)) == 10
    passes = []

    def check():
        passes.append(1)
        if len(passes) == 2:
            raise InterruptedError("stopped")

    with pytest.raises(InterruptedError):
        O.vectors([O.tokens(t, "en") for t in texts("en", 300)], "en", check=check)
    assert len(passes) == 2  # stopped after its second pass, not at the end of all ten


def test_the_text_column_is_guessed_and_empty_rows_dropped():
    df = pd.DataFrame({"id": range(4), "title": ["a", "b", "c", "d"],
                       "body": ["a long text here", None, "another long text", "   "]})
    assert O.text_columns(df)[0] == "body"
    docs, dropped = O.documents(df, "body")
    assert docs == ["a long text here", "another long text"] and dropped == 0


def test_two_thousand_listings_of_your_own_align_without_a_dictionary(torch_one_thread):
    """The page's pipeline on 2,000 Thai and 2,000 English listings (different ones) finds the
    translations of the lexicon's words that both know, though the lexicon is never shown to
    it (measured: precision@1 0.60)."""
    th = [O.tokens(t, "th") for t in texts("th", 2_000)]
    en = [O.tokens(t, "en") for t in texts("en", 2_000)]
    m = O.align(th, en)
    lex = O.lexicon_scores(m)
    assert lex is not None and lex["n"] >= 150
    assert lex["p1"] >= 0.45
    # a wrong pairing scores near nothing: English against English shuffled is no translation
    assert O.lexicon_scores(O.align(en, en[::-1], langs=("en", "en"), steps=5)) is None


def test_the_shipped_size_curve_supports_the_thresholds():
    """The shipped alignment's card keeps the pipeline's precision@1 on smaller corpora; the
    page's thresholds refuse what scored under 30% and accept what scored over 40%."""
    path = checkpoints.weights_path(paths.SHIPPED_DIR / R.ALIGNER)
    if not path.exists():
        pytest.skip("no shipped alignment")
    curve = checkpoints.read_card(path)["extra_metrics"]["size_curve"]
    assert [r["listings"] for r in curve] == list(O.CURVE_SIZES)
    for r in curve:
        fits = not O.too_small(*(O.Stats(lang, r["listings"], r["tokens"][lang], 0,
                                         r["words"][lang]) for lang in R.LANGS))
        assert (r["p1"] >= 0.40) if fits else (r["p1"] < 0.30), r
    assert curve[-1]["p1"] > curve[0]["p1"] + 0.4  # more text, better alignment


def _wait(runner, job):
    return wait_job(runner, job, timeout=600.0)


@pytest.fixture
def own_run(tmp_path_factory, monkeypatch):
    """A finished run of the section's job on 1,200 Thai and 1,200 English listings."""
    from unsup.jobs import ThreadRunner

    runs = tmp_path_factory.mktemp("own-runs")
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(runs))
    runner = ThreadRunner()
    spec = O.training_spec(texts("th", 1_200), texts("en", 1_200), label="th.csv ↔ en.csv",
                           steps=40)
    snap = _wait(runner, runner.submit(spec))
    assert snap.status == "done", snap.error
    return runner, snap


def test_the_job_aligns_two_files_keeps_them_and_resumes(own_run):
    import gzip
    import json

    runner, snap = own_run
    card = checkpoints.load(snap.checkpoint).card_
    data = card["data"]
    assert data["name"] == "own-text" and data["langs"] == ["th", "en"]
    assert data["sizes"]["src"]["n_docs"] == 1_200
    kept = json.loads(gzip.decompress((Path(snap.checkpoint).parent / O.TEXTS_FILE).read_bytes()))
    assert len(kept["src"]) == len(kept["tgt"]) == 1_200 and kept["sha"] == data["sha"]
    x = card["metrics"]["extra_metrics"]
    assert x["pairs"] > 100 and x["lexicon"]["p1"] > 0.3
    again = _wait(runner, runner.submit(O.training_spec(steps=10, resume=snap.checkpoint)))
    assert again.status == "done", again.error
    assert checkpoints.load(again.checkpoint).step_ == 50


def test_a_job_on_files_too_small_fails_with_the_numbers(tmp_path, monkeypatch):
    from unsup.jobs import ThreadRunner

    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    runner = ThreadRunner()
    snap = _wait(runner, runner.submit(O.training_spec(texts("th", 30), texts("en", 2_000),
                                                       steps=5)))
    assert snap.status == "failed"
    assert "The Thai file has" in snap.error and f"{O.MIN_TOKENS:,}" in snap.error
    assert "English" not in snap.error


# -- the section -------------------------------------------------------------------------------------
def run_section(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "translation.py"), default_timeout=120)
    at.session_state["tr_section"] = "Your own text"
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_section_opens_asking_for_two_files_with_samples_to_try():
    at = run_section()
    assert any("Upload both files" in i.value for i in at.info)
    labels = [b.proto.label for b in at.get("download_button")]
    assert any("Thai listings" in x for x in labels) and any("English" in x for x in labels)
    csv = O.tokens  # the sample is read back as the page reads an upload
    from unsup.data import tables as T
    from unsup.ui.translation_own import _sample_csv

    t = T.read_table(_sample_csv("th"), "listings-th.csv")
    assert O.text_columns(t.df)[0] == "text" and len(t.df) == 3_000
    assert csv(t.df["text"][0], "th")


def test_the_section_shows_a_finished_run(own_run):
    at = run_section()
    sizes = at.dataframe[0].value
    assert list(sizes["rows with text"]) == [1_200, 1_200]
    cap = " ".join(c.value for c in at.caption)
    assert "mutual nearest-neighbour pairs" in cap and "precision@1" in cap
    spec = at.get("plotly_chart")[0].proto.spec
    assert "Thai" in spec and "English" in spec
    nn = at.dataframe[1].value
    assert len(nn) == 5 and list(nn["rank"]) == [1, 2, 3, 4, 5]
    at = run_section(**{"tro_text_th-en": "คอนโด ใกล้ ทะเล สระว่ายน้ำ"})
    line = next(m.value for m in at.markdown if m.value.startswith("**Word by word:**"))
    assert "sea" in line.lower()


def test_the_other_sections_leave_your_runs_out(own_run):
    at = AppTest.from_file(str(ROOT / "app_pages" / "translation.py"), default_timeout=120)
    at.run()
    assert not at.exception
    picker = at.selectbox(key="tr_aligner")
    assert not any("↔" in o for o in picker.options)
