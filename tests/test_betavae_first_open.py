"""Issue 21, part 14, β-VAE page: the Traversal and Latents views of a user's run read the
latents' KL and MI from the run's card, never from an evaluation on the page's thread. A finished
training job stores them (its finish runs the family's held-out evaluation); a run stopped before
that reads "not measured" and offers Measure, a background job that writes them into its card."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from streamlit.testing.v1 import AppTest

from unsup import checkpoints, jobs, paths
from unsup.models import betavae as B
from unsup.recipes import betavae as R
from unsup.recipes import merged_metrics

SMALL = dict(widths=(4, 4, 8, 8), hidden=16)


class Evaluated(AssertionError):
    pass


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    torch.set_num_threads(1)
    monkeypatch.setattr(jobs, "_yield_to_ui", lambda *a, **k: torch.set_num_threads(1))


@pytest.fixture
def counted_evaluation(monkeypatch):
    """The family's evaluation (what Measure and the job's finish call), on a quarter of the
    images and one seed to keep the test short, counted; the page's own analysis paths fail."""
    calls = []
    real = R.evaluate

    def evaluate(model, *a, **k):
        calls.append(1)
        return real(model, seed=0, fast=True)

    monkeypatch.setattr(R.FAMILY, "evaluate", evaluate)
    monkeypatch.setattr(R, "evaluate", evaluate)  # the training job's finish
    for name in ("analysis",):
        def boom(*a, _n=name, **k):
            raise Evaluated(f"the page called unsup.recipes.betavae.{_n}")

        monkeypatch.setattr(R, name, boom)
    return calls


def open_page(section: str, **state) -> AppTest:
    at = AppTest.from_file(str(paths.ROOT / "app_pages" / "beta_vae.py"), default_timeout=180)
    at.session_state["bv_section"] = section
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def charts(at) -> list[str]:
    return [json.loads(c.proto.spec)["data"][0]["type"] for c in at.get("plotly_chart")]


@pytest.fixture
def stopped_run():
    """A user β-VAE run stopped before its held-out numbers were recorded (no metrics)."""
    m = B.BetaVAE(B.BetaVAEConfig(beta=4.0, **SMALL))
    run = paths.runs_dir() / "bv-first-open"
    checkpoints.save(m, run / "model", checkpoints.make_card(m, step=3, title="stopped beta"),
                     optimizer=True)
    yield run / "model.safetensors"
    shutil.rmtree(run, ignore_errors=True)


def wait_for_measure_job():
    runner = jobs.get_runner()
    found = [j for j in runner.list() if j.page == "beta-vae_measure"]
    assert found, "Measure started no background job"
    snap = runner.wait(max(found, key=lambda j: j.started).id, timeout=600)
    assert snap.status == "done", snap.error
    return snap


@pytest.mark.slow
def test_a_stopped_run_reads_not_measured_and_measure_writes_its_latents(
        stopped_run, counted_evaluation, monkeypatch):
    name = next(e.name for e in checkpoints.list_models() if e.title == "stopped beta")
    at = open_page("Latents", bv_model=name)
    assert not at.exception, at.exception
    assert not counted_evaluation  # opening measured nothing
    assert any("not measured" in i.value for i in at.info)
    assert charts(at) == []  # no KL bars or MI map without numbers
    # the traversal (a few decodes) still shows, its rows in index order, unnamed
    trav = open_page("Traversal", bv_model=name)
    assert not trav.exception, trav.exception
    assert charts(trav) == ["image"] and any("not measured" in i.value for i in trav.info)
    assert not counted_evaluation

    button = next(b for b in at.button if b.key and b.key.startswith("beta-vae_measure_"))
    button.click().run()
    assert not at.exception, at.exception
    wait_for_measure_job()
    assert counted_evaluation == [1]  # measured once, in the job
    m = merged_metrics(checkpoints.read_card(stopped_run))
    assert m["measured_step"] == 3 and len(m["extra_metrics"]["kl_per_dim"]) == 10
    # the numbers now come from the card, also in a fresh session (as after a restart)
    at = open_page("Latents", bv_model=name)
    assert not at.exception, at.exception
    assert charts(at) == ["bar", "heatmap"]
    assert not any("not measured" in i.value for i in at.info)
    assert counted_evaluation == [1]


@pytest.mark.slow
def test_a_finished_training_job_stores_its_latents_in_the_card(counted_evaluation,
                                                                monkeypatch):
    real_make = R.make_model
    monkeypatch.setattr(R, "make_model", lambda kind, **c: real_make(kind, **c, **SMALL))
    runner = jobs.get_runner()
    job_id = runner.submit(R.training_spec(kind="betavae", beta=4.0, steps=2))
    snap = runner.wait(job_id, timeout=600)
    try:
        assert snap.status == "done", snap.error
        assert counted_evaluation == [1]  # the job's finish measured it
        card = checkpoints.read_card(snap.checkpoint)
        m = merged_metrics(card)
        assert m["measured_step"] == card["step"] == 2
        assert "mig" in m and len(m["extra_metrics"]["mi_matrix"]) == 10
        name = next(e.name for e in checkpoints.list_models()
                    if e.path == checkpoints.weights_path(snap.checkpoint))
        at = open_page("Latents", bv_model=name)  # opens on the card's numbers
        assert not at.exception, at.exception
        assert charts(at) == ["bar", "heatmap"] and counted_evaluation == [1]
    finally:
        shutil.rmtree(snap.run_dir, ignore_errors=True)
