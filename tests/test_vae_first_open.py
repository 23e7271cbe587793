"""Issue 21, part 14, VAE sliders page: a user's run stopped before it was measured opens
without its held-out evaluation (−ELBO, IWAE with k importance samples over the whole test
split) running on the page's thread; its Numbers read "not measured" with Measure, a background
job that writes them into the run's card."""

from __future__ import annotations

import shutil
import threading

import pytest
import torch
from streamlit.testing.v1 import AppTest

from unsup import checkpoints, jobs, paths
from unsup.metrics import elbo
from unsup.models.vae import ConvVAE, VAEConfig
from unsup.recipes import merged_metrics
from unsup.recipes import vae as R


class Evaluated(AssertionError):
    pass


@pytest.fixture
def only_jobs_evaluate(monkeypatch):
    """The held-out evaluation raises unless the family's evaluation (what Measure runs, here
    with 5 importance samples to keep the test short) called it; those calls are counted."""
    torch.set_num_threads(1)
    monkeypatch.setattr(jobs, "_yield_to_ui", lambda *a, **k: torch.set_num_threads(1))
    inside, calls = threading.local(), []
    real_elbo, real_family = elbo.evaluate, R.evaluate

    def guarded(*a, **k):
        if not getattr(inside, "on", False):
            raise Evaluated("the page evaluated the model on its thread")
        return real_elbo(*a, **k)

    def family_evaluate(model, **k):
        calls.append(1)
        inside.on = True
        try:
            return real_family(model, k=5)
        finally:
            inside.on = False

    monkeypatch.setattr(elbo, "evaluate", guarded)
    monkeypatch.setattr(R.FAMILY, "evaluate", family_evaluate)
    return calls


@pytest.fixture
def stopped_vae():
    m = ConvVAE(VAEConfig.tiny(image_size=28))
    run = paths.runs_dir() / "vae-first-open"
    checkpoints.save(m, run / "model", checkpoints.make_card(m, step=3, title="stopped vae"),
                     optimizer=True)
    yield run / "model.safetensors"
    shutil.rmtree(run, ignore_errors=True)


def open_page(section: str, name: str) -> AppTest:
    at = AppTest.from_file(str(paths.ROOT / "app_pages" / "vae_sliders.py"), default_timeout=180)
    at.session_state["vae_model"] = name
    at.session_state["vae_section"] = section
    return at.run()


@pytest.mark.slow
def test_a_stopped_vae_run_reads_not_measured_and_measure_writes_its_card(stopped_vae,
                                                                          only_jobs_evaluate):
    name = next(e.name for e in checkpoints.list_models() if e.title == "stopped vae")
    for section in ("Sliders", "Numbers"):
        at = open_page(section, name)
        assert not at.exception, at.exception
    assert not only_jobs_evaluate  # opening measured nothing
    assert any("not measured" in i.value for i in at.info)
    assert not at.metric  # no held-out numbers shown without a measurement
    button = next(b for b in at.button if b.key and b.key.startswith("vae_measure_"))
    button.click().run()
    assert not at.exception, at.exception
    found = [j for j in jobs.get_runner().list() if j.page == "vae_measure"]
    assert found, "Measure started no background job"
    snap = jobs.get_runner().wait(max(found, key=lambda j: j.started).id, timeout=600)
    assert snap.status == "done", snap.error
    assert only_jobs_evaluate == [1]
    m = merged_metrics(checkpoints.read_card(stopped_vae))
    assert m["measured_step"] == 3 and m["iwae_k"] == 5
    at = open_page("Numbers", name)  # a fresh session reads them from the card
    assert not at.exception, at.exception
    assert not any("not measured" in i.value for i in at.info)
    shown = {x.label.replace("\\", ""): x.value for x in at.metric}
    assert shown["−ELBO (nats)"] == f"{m['test_neg_elbo_nats']:.2f}", shown
    assert only_jobs_evaluate == [1]
