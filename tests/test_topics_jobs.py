"""The user's-own-file path: background fit job, then the page shows it (AppTest)."""

import io
import json

from streamlit.testing.v1 import AppTest

from unsup import topic_jobs
from unsup.data.listings import generate
from unsup.data.tables import clean, guess_columns, read_table
from unsup.models import topics as tm
from unsup.text import TextConfig
from unsup.ui.topics import _fit_work


def _upload(n=300):
    df = generate(n, seed=5, lang="mixed").df.rename(columns={
        "text": "รายละเอียด", "lat": "latitude", "lon": "longitude", "type": "ประเภท",
        "developer": "owner", "date": "posted"})
    buf = io.BytesIO()
    df.drop(columns=["price", "area"]).to_csv(buf, index=False, encoding="cp874")
    table = read_table(buf.getvalue(), "listings.csv")
    assert table.encoding.startswith("cp874")
    return clean(table.df, guess_columns(table.df))


def test_fit_job_runs_in_the_background_and_the_page_shows_it(tmp_path):
    cleaned = _upload()
    assert len(cleaned.df) == 300 and cleaned.has_map and cleaned.has_date
    cfg = tm.TopicConfig(n_topics=6, iterations=40, text=TextConfig(min_df=2))
    job_id = topic_jobs.submit("test fit", _fit_work(cleaned.df, cfg, "listings.csv"))
    job = topic_jobs.wait(job_id, timeout=120)
    assert job.status == "done", job.error
    model = job.result["model"]
    assert model.n_topics == 6 and model.doc_topic_.shape == (300, 6)

    at = AppTest.from_file("../pages/topic_maps.py", default_timeout=120)
    at.query_params["topic_job"] = job_id
    at.run()
    at.radio(key="topic_src").set_value("My file").run()
    assert not at.exception
    data = json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"][0]["data"]
    assert len(data) == 300
    for section in ("topics", "trends", "doc", "try", "k", "io"):
        at.segmented_control(key="topic_section").set_value(section).run()
        assert not at.exception, section


def test_a_fit_with_no_vocabulary_fails_with_a_message():
    cleaned = _upload(40)
    cfg = tm.TopicConfig(n_topics=3, iterations=10, text=TextConfig(min_df=1000))
    job = topic_jobs.wait(topic_jobs.submit("bad", _fit_work(cleaned.df, cfg, "x.csv")))
    assert job.status == "failed" and "min" in job.error.lower()


def test_page_without_a_file_asks_for_one():
    at = AppTest.from_file("../pages/topic_maps.py", default_timeout=120)
    at.run()
    at.radio(key="topic_src").set_value("My file").run()
    assert not at.exception
    assert any("text column" in i.value for i in at.info)
