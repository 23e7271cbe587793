"""A diverged run (codes that are NaN) is skipped by the Clustering page with its reason, and
breaks neither the MNIST table nor the atlas for anyone (issue 21, part 10)."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from unsup import checkpoints, paths
from unsup.recipes import clustering as R

TITLE = "diverged ![x](http://example.com/a.png) run"
PAGES = next(d for d in (paths.ROOT / "app_pages", paths.ROOT / "pages") if d.is_dir())


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def nan_run():
    """A tiny VAE user run on 28x28 digits whose weights are all NaN (as a run at lr = 1000
    leaves them), saved where the app lists the user's runs."""
    from unsup.models.vae import ConvVAE, VAEConfig

    torch.manual_seed(0)
    m = ConvVAE(VAEConfig(n_latent=4, width=4, hidden=16))
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(float("nan"))
    run = paths.runs_dir() / "clustering-nan-test"
    checkpoints.save(m, run / "model", checkpoints.make_card(
        m, step=0, title=TITLE, data={"name": "mnist"}), optimizer=False)
    entry = next(e for e in R.encoder_entries() if e.path.parent == run)
    yield entry
    shutil.rmtree(run, ignore_errors=True)


def _unescaped(text: str) -> bool:
    return "](" in re.sub(r"\\.", "", text)


def test_codes_that_are_not_numbers_are_skipped_with_their_reason(nan_run):
    model = checkpoints.load(nan_run.path)
    rep = R.code_rep(nan_run, model, "test")
    assert np.isnan(rep.X).any()
    _, y = R.mnist("test")
    rows = R.clustering_table([rep], y, k=10)           # K-means would raise on NaN
    assert rows and all(r["nmi"] is None and "NaN" in r["skipped"] for r in rows)
    assert "500 of 500 images" in rows[0]["skipped"]
    assert R.code_problem(np.zeros((3, 2))) is None


def test_the_mnist_table_opens_and_lists_the_diverged_run_as_skipped(nan_run):
    try:  # the table reads stored cells, computed by a background job: run that job here
        from unsup.recipes import clustering_table as T
    except ImportError:  # the table computes its cells as the page opens
        T = None
    if T is not None:
        cells = [c for c in T.cells(T.DEFAULT_SPLIT, T.DEFAULT_K, T.DEFAULT_PCA_K,
                                    [str(nan_run.path)]) if c.path == str(nan_run.path)]
        _, missing = T.lookup(cells)
        T.work(missing)(lambda f, m: None, lambda: False)
    at = AppTest.from_file(str(PAGES / "clustering.py"), default_timeout=240)
    at.session_state["cl_section"] = "MNIST table"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = [w.value for w in at.warning if "Skipped" in w.value]
    assert len(warnings) == 1 and "NaN" in warnings[0] and "diverged" in warnings[0]
    assert "example" in warnings[0] and not _unescaped(warnings[0])
    if at.dataframe:
        assert not any("diverged" in str(r) for r in at.dataframe[0].value["representation"])


def test_the_atlas_of_the_diverged_run_says_why_instead_of_crashing(nan_run):
    at = AppTest.from_file(str(PAGES / "clustering.py"), default_timeout=240)
    at.session_state["cl_section"] = "Atlas"
    at.session_state["atlas_model"] = nan_run.name
    at.session_state["atlas_how"] = "PCA"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = [w.value for w in at.warning if "Skipped" in w.value]
    assert len(warnings) == 1 and "NaN" in warnings[0] and not _unescaped(warnings[0])
    with pytest.raises(ValueError, match="NaN"):
        R.compute_atlas(nan_run, R.umap_params())       # the background UMAP says it too
