"""AutoML with Optuna (the model search): a search is a learner whose step is one trial, its study
lives in an RDB storage, and a stopped search resumes from it with no trial lost or repeated."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from unsup import checkpoints, paths
from unsup.models.automl import SearchedVAE, SearchedVAEConfig
from unsup.recipes.automl_search import SearchConfig, VAESearch
from unsup.models.vae import ConvVAE, VAEConfig
from unsup.recipes import automl as R
from unsup.train import fit

DUMMY = torch.zeros(1_024, 1)


@pytest.fixture(scope="module")
def digits():
    """(training images of the trials, validation images) of the 8×8 digits."""
    return R.search_data("digits8")


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # the same arithmetic in every run of a test
    yield
    torch.set_num_threads(n)


def _search(url: str, digits, **cfg) -> VAESearch:
    x_fit, x_valid = digits
    return VAESearch(SearchConfig.tiny(**cfg)).attach(url, x_train=x_fit, x_valid=x_valid)


def _counted(study) -> list:
    """The trials that count (finished or pruned), in order."""
    return [t for t in study.get_trials(deepcopy=False) if t.state.name in ("COMPLETE", "PRUNED")]


def _resume(path, url, digits) -> VAESearch:
    m = checkpoints.load(path, optimizer=True)
    return m.attach(url, x_train=digits[0], x_valid=digits[1])


@pytest.mark.parametrize("how", ["stop", "crash"])
def test_a_stopped_search_resumes_from_its_storage_without_losing_or_repeating_a_trial(
        tmp_path, digits, how, monkeypatch):
    """Five trials in one go, against: two trials, a third interrupted half-way (Stop inside
    the trial, or the process dying there: the trial left RUNNING in the storage), a new learner
    loaded from the checkpoint and attached to the same SQLite study, three more trials. The
    counted trials have the same settings in the same order and the same values; the
    interrupted one is in the study once, as FAIL, and its settings ran again exactly once."""
    straight = _search(R.sqlite_url(tmp_path / "a.db"), digits)
    fit(straight, DUMMY, steps=5)
    want = _counted(straight.study)
    assert len(want) == 5

    url = R.sqlite_url(tmp_path / "b.db")
    ckpt = tmp_path / "b" / "search"
    first = _search(url, digits)
    fit(first, DUMMY, steps=2, checkpoint_every=1, checkpoint_path=ckpt)

    second = _resume(ckpt, url, digits)
    calls = [0]

    def stop_half_way() -> bool:
        calls[0] += 1
        return calls[0] > 6  # inside the third trial's VAE training

    second.should_stop = stop_half_way
    if how == "crash":  # the process dies: nothing marks the trial or enqueues it again
        monkeypatch.setattr(VAESearch, "_requeue", lambda self, trial: None)
    with pytest.raises(InterruptedError):
        fit(second, DUMMY, steps=3, checkpoint_every=1, checkpoint_path=ckpt)
    monkeypatch.undo()
    tail = [t.state.name for t in second.study.get_trials(deepcopy=False)][2:]
    assert tail == (["FAIL", "WAITING"] if how == "stop" else ["RUNNING"])

    third = _resume(ckpt, url, digits)  # the checkpoint of step 2: the third trial is redone
    assert third.step_ == 2
    fit(third, DUMMY, steps=3, checkpoint_every=1, checkpoint_path=ckpt)
    got = _counted(third.study)
    assert [t.params for t in got] == [t.params for t in want]
    assert [t.state for t in got] == [t.state for t in want]
    for a, b in zip(got, want):
        va = a.value if a.value is not None else a.intermediate_values[max(a.intermediate_values)]
        vb = b.value if b.value is not None else b.intermediate_values[max(b.intermediate_values)]
        assert math.isclose(va, vb, rel_tol=1e-6), (a.number, va, vb)
    every = third.study.get_trials(deepcopy=False)
    failed = [t for t in every if t.state.name == "FAIL"]
    assert len(failed) == 1 and failed[0].number == 2
    retry = [t for t in every if t.user_attrs.get("retry_of") == 2]
    assert len(retry) == 1 and retry[0].params == failed[0].params
    assert retry[0].state.name in ("COMPLETE", "PRUNED")
    assert not [t for t in every if t.state.name in ("RUNNING", "WAITING")]
    assert [t.number for t in got] == [0, 1, 3, 4, 5]  # trial numbers are never reused
    assert third.trials_run == 5


def test_two_workers_share_one_study_and_recover_only_their_own_trials(tmp_path, digits,
                                                                       monkeypatch):
    """Several machines on one storage: worker "a" dies inside a trial (left RUNNING); worker
    "b" keeps searching beside it without touching that trial and proposes other settings;
    "a", restarted, runs its trial again. ``UNSUP_STUDY_STORAGE`` names the shared storage."""
    url = R.sqlite_url(tmp_path / "shared.db")
    monkeypatch.setenv("UNSUP_STUDY_STORAGE", url)
    got_url, worker = R.study_storage(tmp_path / "run-a" / "automl-vae")
    assert got_url == url and worker and str(tmp_path / "run-a") in worker
    a, b = _search(url, digits, worker="a"), _search(url, digits, worker="b")
    a.should_stop = lambda: (_ for _ in ()).throw(SystemExit)  # the process ends mid-trial
    monkeypatch.setattr(VAESearch, "_requeue", lambda self, trial: None)
    with pytest.raises(SystemExit):
        fit(a, DUMMY, steps=1)
    monkeypatch.undo()
    fit(b, DUMMY, steps=2)
    states = {t.number: t.state.name for t in b.study.get_trials(deepcopy=False)}
    assert states == {0: "RUNNING", 1: "COMPLETE", 2: states[2]} and states[2] != "RUNNING"
    first_a = b.study.get_trials(deepcopy=False)[0].params
    assert b.study.get_trials(deepcopy=False)[1].params != first_a  # another seed, not lockstep
    a2 = _search(url, digits, worker="a")
    fit(a2, DUMMY, steps=1)
    trials = a2.study.get_trials(deepcopy=False)
    assert trials[0].state.name == "FAIL"
    assert trials[3].user_attrs["retry_of"] == 0 and trials[3].params == first_a


def test_pruning_prunes_a_clearly_bad_trial(tmp_path, digits):
    """Three sensible trials, then one whose learning rate is a thousand times too small: the
    median pruner stops it at its first report after the warm-up, the others run to the end."""
    m = _search(R.sqlite_url(tmp_path / "p.db"), digits, lr_range=(1e-6, 1e-2),
                n_startup_trials=10)
    good = {"n_latent": 4, "width": 4, "depth": 1, "hidden": 16, "batch_size": 16, "beta": 1.0}
    for lr in (3e-3, 5e-3, 8e-3):
        m.study.enqueue_trial({**good, "lr": lr})
    m.study.enqueue_trial({**good, "lr": 1e-6})
    fit(m, DUMMY, steps=4)
    trials = m.study.get_trials(deepcopy=False)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3 + ["PRUNED"]
    bad = trials[-1]
    assert max(bad.intermediate_values) < m.config.steps_per_trial
    assert max(bad.intermediate_values) >= m.config.prune_warmup
    worst_good = max(t.value for t in trials[:3])
    assert bad.intermediate_values[max(bad.intermediate_values)] > worst_good
    assert m.state[3] == 1  # the learner counted it as pruned


def test_a_trial_that_diverges_is_pruned_not_fatal(tmp_path, digits):
    m = _search(R.sqlite_url(tmp_path / "d.db"), digits, lr_range=(1e-3, 1e6))
    m.study.enqueue_trial({"n_latent": 4, "width": 4, "depth": 2, "hidden": 16,
                           "batch_size": 16, "beta": 1.0, "lr": 1e6})
    out = fit(m, DUMMY, steps=1)
    t = m.study.get_trials(deepcopy=False)[0]
    assert t.state.name == "PRUNED" and t.user_attrs.get("diverged") is True
    assert all(math.isfinite(v) for v in out.history[-1].values())


def test_the_time_budget_ends_the_search(tmp_path, digits):
    m = _search(R.sqlite_url(tmp_path / "t.db"), digits, budget_seconds=1e-9)
    fit(m, DUMMY, steps=3)
    assert m.budget_spent and m.trials_run == 1  # the trial in progress is finished, no more
    assert len(m.study.get_trials(deepcopy=False)) == 1


def test_the_validation_split_is_disjoint_from_the_500_test_digits():
    """The search trains on 4,000 and validates on 500 of the 4,500 training digits (50 per
    class); no validation image is one of the 500 test digits."""
    from unsup.data.images import load_split

    split = load_split("mnist")
    fit_rows, valid_rows = R.split_indices("mnist")
    assert len(valid_rows) == 500 and len(fit_rows) == 4_000
    assert not set(fit_rows) & set(valid_rows)
    assert sorted(set(fit_rows) | set(valid_rows)) == list(range(len(split.y_train)))
    assert np.bincount(split.y_train[valid_rows]).tolist() == [50] * 10
    test = {x.tobytes() for x in split.x_test}
    assert len(test) == 500
    assert not any(x.tobytes() in test for x in split.x_train[valid_rows])
    x_fit, x_valid = R.search_data("mnist")
    assert x_fit.shape == (4_000, 1, 28, 28) and x_valid.shape == (500, 1, 28, 28)


def test_depth_one_is_the_family_vae_and_depth_adds_dense_layers():
    a = SearchedVAE(SearchedVAEConfig.tiny(depth=1))
    b = ConvVAE(VAEConfig.tiny())
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)
    deep = SearchedVAE(SearchedVAEConfig.tiny(depth=3))
    n_linear = sum(isinstance(m, torch.nn.Linear) for m in deep.modules())
    assert n_linear == sum(isinstance(m, torch.nn.Linear) for m in a.modules()) + 4
    x = torch.rand(4, 1, 8, 8)
    assert deep.decode(deep.encode(x)).shape == x.shape


def test_a_page_search_stops_inside_a_trial_and_resumes(tmp_path, monkeypatch):
    """The page's job: Stop pressed during a trial ends the job as stopped, its trial marked
    interrupted and queued again in the study; Resume from the kept checkpoint (step 0) runs
    those settings first, as the next trial, then new ones."""
    import time

    from unsup import jobs

    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path / "runs"))
    runner = jobs.ThreadRunner()
    tiny = {k: v for k, v in vars(SearchConfig.tiny()).items()
            if k not in ("study_name", "storage", "worker")}
    spec = R.training_spec(trials=3, budget_minutes=60, data="digits8",
                           search={**tiny, "steps_per_trial": 600, "report_every": 20})
    job = runner.submit(spec)
    url = R.sqlite_url(spec.run_dir / "model.db")
    for _ in range(2_000):  # until the first trial has reported once (bounded, not timed)
        if R.job_study_url(spec.run_dir) is None:  # as the page: only a study that exists
            time.sleep(0.02)
            continue
        try:
            t = R.open_study(url, "search", create=False).get_trials(deepcopy=False)
            if t and t[0].intermediate_values:
                break
        except Exception:  # noqa: BLE001 - the study is being created
            pass
        time.sleep(0.02)
    runner.stop(job)
    snap = runner.wait(job, timeout=120)
    assert snap.status == "stopped", snap.error
    assert snap.resumable and snap.step == 0
    study = R.open_study(url, "search", create=False)
    assert [t.state.name for t in study.get_trials(deepcopy=False)] == ["FAIL", "WAITING"]
    job2 = runner.resume(job, 2)
    done = runner.wait(job2, timeout=300)
    assert done.status == "done", done.error
    trials = study.get_trials(deepcopy=False)
    assert [t.state.name for t in trials][0] == "FAIL" and len(trials) == 3
    assert trials[1].user_attrs.get("retry_of") == 0 and trials[1].params == trials[0].params
    assert trials[1].state.name in ("COMPLETE", "PRUNED")
    assert trials[2].params != trials[0].params
    assert checkpoints.read_card(done.checkpoint)["metrics"]["n_trials"] == 2


# -- the shipped study and its comparison ------------------------------------------------------------
def _shipped(name: str) -> dict:
    p = paths.SHIPPED_DIR / f"{name}.json"
    if not p.exists():
        pytest.skip(f"{name} is not shipped")
    return json.loads(p.read_text())


def test_the_shipped_study_matches_its_card():
    card = _shipped(R.SEARCH_NAME)
    db = R.study_file(paths.SHIPPED_DIR / R.SEARCH_NAME)
    assert db.exists() and db.stat().st_size < 1_000_000
    study = R.open_study(R.sqlite_url(db), card["config"]["study_name"], create=False)
    s = R.summary(study)
    m = card["metrics"]
    for k in ("n_trials", "n_complete", "n_pruned", "best_trial", "best_valid_neg_elbo_nats"):
        assert s[k] == m[k], k
    assert m["n_pruned"] >= 1
    assert card["command"] == "python -m unsup train automl-vae --out checkpoints"


def test_the_shipped_comparison_is_consistent():
    """The retrain ran as many steps as vae-mnist-16d, with the search's best settings, and its
    card's hand-tuned number is vae-mnist-16d's own test −ELBO, measured the same way."""
    best = _shipped(R.BEST_NAME)
    ref = _shipped(R.SHIPPED_VAE)
    search = _shipped(R.SEARCH_NAME)
    m = best["metrics"]
    assert best["step"] == ref["step"] == R.PRESETS[1].steps
    assert math.isclose(m["shipped_test_neg_elbo_nats"], ref["metrics"]["test_neg_elbo_nats"],
                        abs_tol=0.01)
    assert math.isclose(m["difference_nats"],
                        m["test_neg_elbo_nats"] - m["shipped_test_neg_elbo_nats"], abs_tol=0.002)
    cfg = best["config"]
    for k, v in search["metrics"]["best_params"].items():
        assert cfg[k] == pytest.approx(v, rel=1e-4), k
    assert m["n_test"] == 500


# -- the page section --------------------------------------------------------------------------------
ROOT = paths.ROOT


def _app(section="AutoML: a model search"):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app_pages" / "evolution.py"), default_timeout=60)
    at.session_state["evo_section"] = section
    return at


@pytest.fixture(scope="module")
def tiny_shipped(tmp_path_factory):
    """A folder shipped like checkpoints/: a tiny study made by the search's own command, and a
    retrain card that falls short of the hand-tuned VAE by 1.25 nats."""
    from dataclasses import asdict

    from unsup.families import Preset

    out = tmp_path_factory.mktemp("shipped")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        R.train(Preset(R.SEARCH_NAME, "t", "d", R.KIND_SEARCH, 6,
                       asdict(SearchConfig.tiny(study_name=R.SEARCH_NAME)), "digits8",
                       checkpoint_every=1), out_dir=out)
    finally:
        torch.set_num_threads(n)
    (out / f"{R.BEST_NAME}.json").write_text(json.dumps({
        "kind": R.KIND_VAE, "step": 6000, "metrics": {
            "test_neg_elbo_nats": 85.748, "shipped_test_neg_elbo_nats": 84.498,
            "difference_nats": 1.25, "n_test": 500}}))
    return out


def test_the_section_draws_a_study_its_trials_and_the_comparison(tiny_shipped):
    """Optuna's four figures of the study (the history's best point is the card's best value),
    one table row per trial, and the retrain's shortfall said in words and numbers."""
    card = json.loads((tiny_shipped / f"{R.SEARCH_NAME}.json").read_text())
    m = card["metrics"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(paths, "SHIPPED_DIR", tiny_shipped)
        at = _app().run()
    assert not at.exception
    text = " ".join(x.value for x in at.markdown)
    assert f"{m['best_valid_neg_elbo_nats']:.2f} nats" in text
    assert f"{m['n_trials']} trials" in text
    charts = at.get("plotly_chart")
    assert len(charts) == 4
    hist = json.loads(charts[0].proto.spec)
    ys = [y for tr in hist["data"] for y in (tr.get("y") or []) if y is not None]
    assert min(ys) == pytest.approx(m["best_valid_neg_elbo_nats"], abs=1e-3)
    imp = json.loads(charts[3].proto.spec)
    shown = {name.strip() for tr in imp["data"] for name in (tr.get("y") or [])}
    assert shown == set(card["extra_metrics"]["importances"])
    df = at.dataframe[0].value
    assert len(df) == len(card["extra_metrics"]["trials"]) == m["n_trials"]
    assert set(df["State"]) <= {"finished", "pruned", "pruned (diverged)"}
    assert at.metric[0].value == "85.75 nats" and at.metric[1].value == "84.50 nats"
    assert "fall short" in text and "1.25 nats" in text


def test_the_shipped_section_reads_the_shipped_cards():
    card = _shipped(R.SEARCH_NAME)
    at = _app().run()
    assert not at.exception
    text = " ".join(x.value for x in at.markdown)
    assert f"{card['metrics']['best_valid_neg_elbo_nats']:.2f} nats" in text
    assert len(at.get("plotly_chart")) == 4
    best = paths.SHIPPED_DIR / f"{R.BEST_NAME}.json"
    if best.exists():
        b = json.loads(best.read_text())["metrics"]
        assert at.metric[0].value == f"{b['test_neg_elbo_nats']:.2f} nats"
        assert ("beat" if b["difference_nats"] < 0 else "fall short") in text


def test_the_section_says_what_to_run_when_nothing_is_shipped(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "SHIPPED_DIR", tmp_path)
    at = _app().run()
    assert not at.exception
    infos = " ".join(i.value for i in at.info)
    assert "python -m unsup train automl-vae --out checkpoints" in infos
    assert "python -m unsup train automl-vae-best --out checkpoints" in infos
    assert not at.get("plotly_chart")


def test_the_search_form_starts_nothing_by_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    at = _app("Train")
    at.run()
    labels = [b.label for b in at.button]
    assert "Start the search" in labels
