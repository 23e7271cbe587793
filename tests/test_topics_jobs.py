"""The user's-own-file path: a background fit on the shared job runner that saves into the runs
folder, can be stopped and resumed, and reappears in the page's picker after a restart."""

import io
import json

import pytest

from streamlit.testing.v1 import AppTest

from unsup import checkpoints
from unsup.data.listings import generate
from unsup.data.tables import clean, guess_columns, read_table
from unsup.jobs import ThreadRunner
from unsup.models import topics as tm
from unsup.recipes import topics as recipe
from unsup.text import TextConfig


def _upload(n=300):
    df = generate(n, seed=5, lang="mixed").df.rename(columns={
        "text": "รายละเอียด", "lat": "latitude", "lon": "longitude", "type": "ประเภท",
        "developer": "owner", "date": "posted"})
    buf = io.BytesIO()
    df.drop(columns=["price", "area"]).to_csv(buf, index=False, encoding="cp874")
    table = read_table(buf.getvalue(), "listings.csv")
    assert table.encoding.startswith("cp874")
    return clean(table.df, guess_columns(table.df))


def test_fit_job_saves_a_run_that_the_page_shows_after_a_restart():
    cleaned = _upload()
    assert len(cleaned.df) == 300 and cleaned.has_map and cleaned.has_date
    cfg = tm.TopicConfig(n_topics=6, iterations=40, text=TextConfig(min_df=2))
    title, work, resume, run_dir = recipe.user_fit(cleaned.df, cfg, "listings.csv")
    runner = ThreadRunner()
    job = runner.wait(runner.submit_work(title, work, page="topics", resume=resume,
                                         run_dir=run_dir), timeout=120)
    assert job.status == "done", job.error
    assert set(job.result) == {"path"}  # the runner holds a path, not the model or the table
    assert job.history and "-loglik/word" in job.history[-1]  # the panel's live curve
    fits = {e.name: e for e in recipe.saved_fits()}
    assert run_dir.name in fits  # listed from disk: a new process (an app restart) finds it
    model, df = recipe.load_fit(fits[run_dir.name].path)
    assert model.n_topics == 6 and model.doc_topic_.shape == (300, 6) and len(df) == 300
    # topics are named from their top words (issue 11.11), not "Topic 0", "Topic 1", ...
    assert all(" · " in x and not x.startswith("Topic ") for x in model.labels_)

    at = AppTest.from_file("../app_pages/topic_maps.py", default_timeout=120)
    at.run()
    at.radio(key="topic_src").set_value("My file").run()
    assert not at.exception
    assert at.selectbox(key="topic_fit").value == max(
        fits, key=lambda n: fits[n].mtime) or run_dir.name in at.selectbox(key="topic_fit").options
    at.selectbox(key="topic_fit").set_value(run_dir.name).run()
    data = json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"][-1]["data"]
    assert len(data) == 300
    for section in ("topics", "trends", "doc", "try", "k", "io"):
        at.segmented_control(key="topic_section").set_value(section).run()
        assert not at.exception, section


def test_a_stopped_fit_resumes_the_same_chain():
    cleaned = _upload(200)
    cfg = tm.TopicConfig(n_topics=4, iterations=60, n_init=1, text=TextConfig(min_df=2))
    title, work, resume, run_dir = recipe.user_fit(cleaned.df, cfg, "x.csv")
    runner = ThreadRunner()
    calls = []

    def stop_after_two(progress, should_stop):  # stop once two Gibbs blocks have run
        def tick(*a):
            calls.append(a)
            progress(*a)
        return work(tick, lambda: sum(len(c) == 3 for c in calls) >= 2)

    job = runner.wait(runner.submit_work(title, stop_after_two, resume=resume, run_dir=run_dir))
    assert job.status == "stopped" and job.resumable
    # the stop saved a resumable checkpoint of its step (the one loader's format), unfinished
    stopped = checkpoints.load(run_dir / "model", optimizer=True)
    assert isinstance(stopped, tm.LDA) and stopped.step_ == 2
    assert stopped.card_["finished"] is False and stopped.sweeps == 20
    assert run_dir.name not in {e.name for e in recipe.saved_fits()}
    again = runner.wait(runner.resume(job.id), timeout=120)
    assert again.status == "done", again.error
    model = recipe.load_model(again.result["path"])
    assert len(model.history_) == 6  # 2 blocks before the stop + 4 after: 60 sweeps in all
    assert model.history_[:2] == stopped.topic_model().history_  # the same chain, continued
    assert checkpoints.read_card(again.result["path"])["finished"] is True
    assert not checkpoints.resumable(again.result["path"])  # finished: compact, no sampler


def test_a_fit_with_no_vocabulary_fails_with_a_message():
    cleaned = _upload(40)
    cfg = tm.TopicConfig(n_topics=3, iterations=10, text=TextConfig(min_df=1000))
    title, work, resume, run_dir = recipe.user_fit(cleaned.df, cfg, "x.csv")
    runner = ThreadRunner()
    job = runner.wait(runner.submit_work(title, work))
    assert job.status == "failed" and "min" in job.error.lower()
    assert not checkpoints.list_models(tm.KIND) or all(
        e.path.parent != run_dir for e in checkpoints.list_models(tm.KIND))


def test_page_without_a_file_asks_for_one():
    at = AppTest.from_file("../app_pages/topic_maps.py", default_timeout=120)
    at.run()
    at.radio(key="topic_src").set_value("My file").run()
    at.selectbox(key="topic_fit").set_value("➕ Fit a new file").run()
    assert not at.exception
    assert any("text column" in i.value for i in at.info)


def test_a_stopped_fit_can_be_resumed_after_a_restart():
    """Every page that trains offers Resume for a stopped run: a stopped topic fit is found on
    disk by a new process (an app restart) and continues."""
    cleaned = _upload(200)
    cfg = tm.TopicConfig(n_topics=4, iterations=40, n_init=1, text=TextConfig(min_df=2))
    runner = ThreadRunner()
    title, work, resume, run_dir = recipe.user_fit(cleaned.df, cfg, "restart.csv")
    flag = []  # stop after the first block of Gibbs sweeps
    job = runner.wait(runner.submit_work(
        title, lambda progress, stop: work(lambda *a: (flag.append(a), progress(*a)),
                                           lambda: sum(len(c) == 3 for c in flag) >= 1),
        resume=resume, run_dir=run_dir))
    assert job.status == "stopped"
    found = dict(recipe.stopped_fits())
    assert run_dir in found and found[run_dir]["file"] == "restart.csv"
    at = AppTest.from_file("../app_pages/topic_maps.py", default_timeout=120)
    at.run()
    at.radio(key="topic_src").set_value("My file").run()
    at.selectbox(key="topic_fit").set_value("➕ Fit a new file").run()
    assert any(f"resume_{run_dir.name}" == b.key for b in at.button)
    new_title, new_work, _, _ = recipe.resume_fit(run_dir)
    done = runner.wait(runner.submit_work(new_title, new_work), timeout=120)
    assert done.status == "done", done.error
    assert run_dir not in dict(recipe.stopped_fits())


def _stopped_fit(name: str, method: str = "lda"):
    cleaned = _upload(120)
    cfg = tm.TopicConfig(n_topics=3, iterations=40, n_init=1, method=method,
                         text=TextConfig(min_df=2))
    runner = ThreadRunner()
    title, work, resume, run_dir = recipe.user_fit(cleaned.df, cfg, name)
    flag = []
    job = runner.wait(runner.submit_work(
        title, lambda progress, stop: work(lambda *a: (flag.append(a), progress(*a)),
                                           lambda: sum(len(c) == 3 for c in flag) >= 1),
        resume=resume, run_dir=run_dir))
    assert job.status == "stopped"
    return runner, run_dir


def test_a_resume_refuses_a_table_that_changed_since_the_stop():
    """The run service's rule for uploads, for tables too: the fit resumes only on the very
    texts it started on (their fingerprint is in the stopped checkpoint's card)."""
    import pandas as pd

    from unsup.recipes.topics import TABLE_FILE

    runner, run_dir = _stopped_fit("changed.csv")
    df = pd.read_parquet(run_dir / TABLE_FILE)
    df.loc[0, "text"] = "a different listing text entirely, with new words"
    df.to_parquet(run_dir / TABLE_FILE)
    title, work, _, _ = recipe.resume_fit(run_dir)
    job = runner.wait(runner.submit_work(title, work), timeout=120)
    assert job.status == "failed" and "no longer the one" in job.error


def test_resume_with_the_table_gone_says_so_in_the_page():
    from unsup.recipes.topics import TABLE_FILE

    _, run_dir = _stopped_fit("gone.csv")
    (run_dir / TABLE_FILE).write_bytes(b"not a parquet file")
    with pytest.raises(ValueError, match="cannot be read"):
        recipe.resume_fit(run_dir)
    at = AppTest.from_file("../app_pages/topic_maps.py", default_timeout=120)
    at.run()
    at.radio(key="topic_src").set_value("My file").run()
    at.selectbox(key="topic_fit").set_value("➕ Fit a new file").run()
    [b for b in at.button if b.key == f"resume_{run_dir.name}"][0].click().run()
    assert not at.exception
    assert any("cannot be read" in e.value for e in at.error)


def test_a_stopped_plsa_fit_is_offered_as_plsa():
    """Its Resume line named pLSA's EM steps "LDA ... Gibbs sweeps"."""
    _, run_dir = _stopped_fit("plsa.csv", method="plsa")
    at = AppTest.from_file("../app_pages/topic_maps.py", default_timeout=120)
    at.run()
    at.radio(key="topic_src").set_value("My file").run()
    at.selectbox(key="topic_fit").set_value("➕ Fit a new file").run()
    line = [c.value for c in at.caption if "plsa.csv" in c.value]
    assert line and "pLSA K=3" in line[0] and "EM steps" in line[0] and "LDA" not in line[0]
