"""AppTest of the topic-map page on the built-in corpus: no exception, filters change the map."""

import json

from streamlit.testing.v1 import AppTest


def _points(at):
    return json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"][0]["data"]


def test_page_opens_and_filters_change_the_map():
    at = AppTest.from_file("../pages/topic_maps.py", default_timeout=120)
    at.run()
    assert not at.exception
    assert not at.error
    all_points = _points(at)
    assert len(all_points) == 5000

    types = at.multiselect(key=[k for k in at.session_state.filtered_state
                                if str(k).startswith("ftype:")][0])
    types.set_value(types.value[:2]).run()
    assert not at.exception
    some = _points(at)
    assert 0 < len(some) < len(all_points)
    assert {p["type"] for p in some} == set(types.value)

    # unselect all topics -> empty map; select all -> everything (within the type filter)
    at.button(key=[k for k in at.session_state.filtered_state if str(k).startswith("ftopic:")][
        0] + "_none").click().run()
    assert _points(at) == []
    at.button(key=[k for k in at.session_state.filtered_state if str(k).startswith("ftopic:")][
        0] + "_all").click().run()
    assert len(_points(at)) == len(some)

    at.radio(key="topic_mode").set_value("hexagon").run()
    assert not at.exception
    assert json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"][0][
        "@@type"] == "HexagonLayer"


def test_every_section_renders():
    at = AppTest.from_file("../pages/topic_maps.py", default_timeout=120)
    at.run()
    for section in ("topics", "trends", "doc", "try", "k", "io"):
        at.segmented_control(key="topic_section").set_value(section).run()
        assert not at.exception, section
        assert not at.error, section
    at.segmented_control(key="topic_section").set_value("topics").run()
    assert '*"' in str(at.get("arrow_data_frame")[0].value["words"].iloc[0]) if at.get(
        "arrow_data_frame") else True
