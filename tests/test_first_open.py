"""Issue 21, part 14: a section opens on numbers read from disk, never on a model evaluated on
the page's thread. Each section is opened with its evaluation functions replaced by ones that
fail; the numbers shown must be those of the cards (or of the stored derived data). A stopped
run without numbers reads "not measured"; Measure measures it in a background job whose result
lands in the run's card (weights untouched) and survives a restart."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from unsup import checkpoints, derived, paths
from unsup.metrics.seeds import spread_text
from unsup.recipes import merged_metrics

PAGES = paths.ROOT / "app_pages"


class Evaluated(AssertionError):
    pass


def forbid(monkeypatch, module, *names):
    """Make ``module.name`` raise if a section calls it while opening."""
    for name in names:
        def boom(*a, _n=name, **k):
            raise Evaluated(f"the page called {module.__name__}.{_n}")

        monkeypatch.setattr(module, name, boom)


@pytest.fixture(autouse=True)
def own_derived_store(monkeypatch, tmp_path):
    """The user's derived store in a fresh folder (the shipped one is read as shipped)."""
    monkeypatch.setattr(derived, "user_path",
                        lambda table, k: tmp_path / "derived" / table / f"{k}.json")
    torch.set_num_threads(1)
    from unsup import jobs

    monkeypatch.setattr(jobs, "_yield_to_ui", lambda *a, **k: torch.set_num_threads(1))


def open_section(page: str, key: str, section: str, **state) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=180)
    at.session_state[key] = section
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def shipped(kind) -> list[checkpoints.Entry]:
    kinds = (kind,) if isinstance(kind, str) else kind
    return [e for e in checkpoints.list_models() if e.kind in kinds and e.source == "shipped"]


def wait_for_measure_job():
    from unsup.jobs import get_runner

    jobs = [j for j in get_runner().list() if j.page.endswith("_measure")]
    assert jobs, "Measure started no background job"
    newest = max(jobs, key=lambda j: j.started)
    snap = get_runner().wait(newest.id, timeout=600)
    assert snap.status == "done", snap.error
    return snap


# -- GAN ----------------------------------------------------------------------------------------
def test_gan_metrics_open_on_the_cards_numbers_without_evaluating(monkeypatch):
    from unsup.recipes import gan as R

    items = shipped(R.IMAGE_KINDS)
    if not items:
        pytest.skip("no shipped image GAN")
    forbid(monkeypatch, R, "evaluate", "evaluate_images", "evaluate_2d", "frontier",
           "real_floor", "real_features")
    at = open_section("gan.py", "gan_section", "Metrics")
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    for e in items:
        row = table[table["model"] == e.title].iloc[0]
        assert float(row["Fréchet (clf)"]) == round(e.card["metrics"]["fd"], 2)
        assert row["measured"] == "when trained"
    floor = table[table["model"].str.contains("floor")].iloc[0]
    assert float(floor["Fréchet (clf)"]) == round(items[0].card["metrics"]["fd_floor"], 2)
    two_d = at.dataframe[1].value
    for e in shipped("gan2d"):
        row = two_d[two_d["model"] == e.title].iloc[0]
        # the mean over the card's noise seeds ± their sd (issue 21, part 17)
        assert row["high-quality %"] == spread_text(e.card["metrics"], "hq", "{:.1f}",
                                                    scale=100, seeds_word=False)


def test_gan_mode_collapse_reads_its_numbers_from_the_cards(monkeypatch):
    from unsup.recipes import gan as R

    if len(shipped("gan2d")) < 3:
        pytest.skip("the shipped 2-D GANs are not here")
    forbid(monkeypatch, R, "evaluate", "evaluate_2d")
    at = open_section("gan.py", "gan_section", "Mode collapse")
    assert not at.exception, at.exception


def test_gan_frontier_reads_stored_rows(monkeypatch):
    from unsup.metrics.seeds import spread_text
    from unsup.recipes import frontier as F
    from unsup.recipes import gan as R

    if not derived.shipped_table(F.TABLE):
        pytest.skip("no stored frontier rows (scripts/precompute_derived.py frontier)")
    forbid(monkeypatch, R, "frontier", "real_floor", "real_features", "evaluate_images")
    at = open_section("gan.py", "gan_section", "AE frontier")
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["model"]) == ["VAE", "GAN", "VAE-GAN", "real test digits"]
    vae = checkpoints.find("vae-mnist-16d")
    stored = derived.get(F.TABLE, F.row_key("VAE", vae.path))
    cell = table["Fréchet (clf) of samples ↓"].iloc[0]  # "mean ± sd" over the noise seeds
    assert cell == spread_text(stored, "fd", "{:.1f}", seeds_word=False) and " ± " in cell
    assert "gf_measure" not in [b.key for b in at.button]  # nothing left to measure


@pytest.fixture
def stopped_dcgan():
    """A user DCGAN run stopped before its held-out scores were recorded (card without
    metrics), as a stopped job leaves it."""
    from unsup.models import gan as G
    from unsup.recipes import gan as R

    run = paths.runs_dir() / "first-open-dcgan"
    m = G.DCGAN(G.DCGANConfig(width=4, n_latent=8, batch_size=16))
    checkpoints.save(m, run / "model", checkpoints.make_card(
        m, step=3, title="stopped DCGAN", data=R.image_data_card("mnist")), optimizer=True)
    yield run / "model.safetensors"
    shutil.rmtree(run, ignore_errors=True)


@pytest.mark.slow
def test_a_stopped_gan_run_reads_not_measured_and_measure_writes_its_card(stopped_dcgan,
                                                                          monkeypatch):
    from unsup.recipes import gan as R

    name = next(e.name for e in checkpoints.list_models("dcgan") if e.title == "stopped DCGAN")
    before_tensors = checkpoints.read_checkpoint_bytes(stopped_dcgan.read_bytes())[0]
    calls = []
    real = R.evaluate_images  # what the family's evaluation calls for an image GAN
    monkeypatch.setattr(R, "evaluate_images", lambda m, *a, **k: calls.append(1) or real(
        m, *a, **k))
    at = open_section("gan.py", "gan_section", "Metrics", gi_model=name)
    assert not at.exception, at.exception
    assert not calls  # opening measured nothing
    assert any("not measured" in i.value for i in at.info)
    table = at.dataframe[0].value
    assert table[table["model"] == "stopped DCGAN"]["measured"].iloc[0] == "not measured"
    button = next(b for b in at.button if b.key and b.key.startswith("gan_measure_"))
    button.click().run()
    assert not at.exception, at.exception
    snap = wait_for_measure_job()
    assert calls == [1]  # measured once, in the job
    card = checkpoints.read_card(stopped_dcgan)
    m = merged_metrics(card)
    assert m["measured_step"] == 3 and m["fd"] > 0 and "digit_shares" in m["extra_metrics"]
    after_tensors = checkpoints.read_checkpoint_bytes(stopped_dcgan.read_bytes())[0]
    assert before_tensors.keys() == after_tensors.keys()
    assert all(torch.equal(before_tensors[k], after_tensors[k]) for k in before_tensors)
    assert checkpoints.resumable(stopped_dcgan)  # its optimizer state is still its own
    # a fresh session (as after a restart) shows the numbers from the card, measuring nothing
    at = open_section("gan.py", "gan_section", "Metrics", gi_model=name)
    assert not at.exception, at.exception
    row = at.dataframe[0].value
    row = row[row["model"] == "stopped DCGAN"].iloc[0]
    assert row["measured"] == "later (Measure)" and float(row["Fréchet (clf)"]) == round(
        m["fd"], 2)
    assert calls == [1] and snap.result["path"] == str(stopped_dcgan)


def test_a_measurement_never_lands_on_another_step(stopped_dcgan):
    with pytest.raises(checkpoints.CheckpointError):
        checkpoints.update_card(stopped_dcgan, expect_step=7, metrics={"fd": 1.0})
    card = checkpoints.update_card(stopped_dcgan, expect_step=3, metrics={"fd": 1.0,
                                                                          "measured_step": 3})
    assert merged_metrics(card)["fd"] == 1.0
    # a run resumed after it was measured has moved on: its old numbers no longer count
    assert merged_metrics({**card, "step": 9}) == {}


def test_measuring_a_shipped_checkpoint_is_refused():
    from unsup.recipes import measure_work

    e = next(iter(checkpoints.list_models()), None)
    if e is None or e.source != "shipped":
        pytest.skip("no shipped checkpoint")
    with pytest.raises(ValueError):
        measure_work(e)


# -- CycleGAN -----------------------------------------------------------------------------------
def test_cyclegan_metrics_and_label_flips_open_on_the_cards(monkeypatch):
    from unsup.metrics import cyclegan as M
    from unsup.recipes import cyclegan as R

    items = shipped("cyclegan")
    if not items:
        pytest.skip("no shipped CycleGAN")
    forbid(monkeypatch, R, "evaluate", "evaluate_cyclegan")
    forbid(monkeypatch, M, "evaluate", "cycle_l1")
    at = open_section("cyclegan.py", "cg_section", "Metrics")
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "cycle L1 A" in d.value.columns)
    for e in items:
        row = table[table["model"] == e.title].iloc[0]
        assert float(row["cycle L1 A"]) == round(e.card["metrics"]["cycle_l1_a"], 3)
    digits = next((e for e in items if e.card["metrics"].get("pair") == "digits"), None)
    if digits is None:
        return
    at = open_section("cyclegan.py", "cg_section", "Label flips", cg_model=digits.name)
    assert not at.exception, at.exception
    kept = next(m for m in at.metric if "A → B" in m.label)
    assert kept.value == f"{digits.card['metrics']['label_kept_ab']:.1%}"


# -- clustering ---------------------------------------------------------------------------------
def test_clustering_table_opens_on_stored_cells(monkeypatch):
    from unsup.metrics import clustering as C
    from unsup.recipes import clustering as R
    from unsup.recipes import clustering_table as T

    if not derived.shipped_table(T.TABLE):
        pytest.skip("no stored table (scripts/precompute_derived.py clustering)")
    forbid(monkeypatch, R, "clustering_table", "code_rep", "pca_rep")
    forbid(monkeypatch, C, "fit_clusters")
    at = open_section("clustering.py", "cl_section", "MNIST table")
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    px = table[table["representation"] == "raw pixels"].iloc[0]
    stored = derived.get(T.TABLE, T.cell_key(T.Cell("pixels", "test", 16, "kmeans", 10)))
    assert float(px["K-means"]) == round(stored["nmi"], 3)
    assert "tb_compute" not in [b.key for b in at.button]


@pytest.mark.slow
def test_clustering_table_at_other_settings_computes_in_the_background(monkeypatch):
    from unsup.metrics import clustering as C

    calls = []
    real = C.fit_clusters
    import threading

    def counted(*a, **k):
        calls.append(threading.current_thread().name)
        return real(*a, **k)

    monkeypatch.setattr(C, "fit_clusters", counted)
    at = open_section("clustering.py", "cl_section", "MNIST table", tb_k=3, tb_pca=2)
    assert not at.exception, at.exception
    assert not calls and any("not computed yet" in i.value for i in at.info)
    at.button(key="tb_compute").click().run()
    wait_for_measure_job()
    assert calls and all(n.startswith("unsup-work-") for n in calls)  # off the page's thread
    at = open_section("clustering.py", "cl_section", "MNIST table", tb_k=3, tb_pca=2)
    assert not at.exception, at.exception
    n = len(calls)
    assert at.dataframe and len(calls) == n


# -- time promises ------------------------------------------------------------------------------
TIME_PROMISE = re.compile(
    r"about\s+[\d.,–-]+\s*(?:ms|s|sec|seconds?|min|minutes?|hours?)\b"
    r"|\(about a minute\)|[\d.]+\s*(?:ms|s)\s+a\s+step\)|\d+×\s+as\s+long", re.I)


def string_constants(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            out.append((node.lineno, text))
    return out


def test_no_hard_coded_time_promises_in_the_ui():
    """How long something takes is measured (a step timed on this machine, a card's recorded
    seconds), never written into the UI as a constant."""
    bad = []
    files = sorted((paths.ROOT / "unsup" / "ui").glob("*.py")) + sorted(PAGES.glob("*.py")) + [
        paths.ROOT / "app.py"]
    for f in files:
        for line, text in string_constants(f):
            # a formatted value ({} here) is computed; a number written in the text is not
            hit = TIME_PROMISE.search(text)
            if hit:
                bad.append(f"{f.name}:{line}: {hit.group(0)!r}")
    assert not bad, "hard-coded time promises:\n" + "\n".join(bad)


def test_the_time_promise_scan_catches_the_old_spinners():
    assert TIME_PROMISE.search("Sampling 10,000 digits (about 10 s)…")
    assert TIME_PROMISE.search("(about 0.05–0.2 s a step)")
    assert TIME_PROMISE.search("about 20 minutes each on 2 CPU cores")
    assert not TIME_PROMISE.search("Estimate: {} ms a step, measured just now")
