"""AppTest of the topic-map page on the built-in corpus: no exception, filters change the map."""

import json

from streamlit.testing.v1 import AppTest

from unsup.viz.topics import deck_points, listings_layer


def _points(at):
    return deck_points(at.get("deck_gl_json_chart")[0].proto.json)


def _button(at, label):
    return [b for b in at.button if b.label == label][0]


def test_page_opens_and_filters_change_the_map():
    at = AppTest.from_file("../app_pages/topic_maps.py", default_timeout=120)
    at.run()
    assert not at.exception
    assert not at.error
    all_points = _points(at)
    assert len(all_points) == 5000
    spec = at.get("deck_gl_json_chart")[0].proto.json
    assert "@@=@@" not in spec  # accessors must be single expressions for deck.gl's JSON

    types = [m for m in at.multiselect if m.label == "Property type"][0]
    types.set_value(types.value[:2]).run()
    assert not at.exception
    some = _points(at)
    assert 0 < len(some) < len(all_points)
    assert {p["type"] for p in some} == set(types.value)

    # unselect all topics -> empty map; select all -> everything (within the type filter)
    _button(at, "Unselect all topics").click().run()
    assert _points(at) == []
    _button(at, "Select all topics").click().run()
    assert len(_points(at)) == len(some)

    at.radio(key="topic_mode").set_value("hexagon").run()
    assert not at.exception
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert listings_layer(deck)["@@type"] == "HexagonLayer"


def test_every_section_renders():
    at = AppTest.from_file("../app_pages/topic_maps.py", default_timeout=120)
    at.run()
    expect = {"topics": "plotly_chart", "trends": "plotly_chart", "doc": "plotly_chart",
              "try": "text_area", "k": "plotly_chart", "io": "download_button"}
    for section, element in expect.items():
        at.segmented_control(key="topic_section").set_value(section).run()
        assert not at.exception, section
        assert not at.error, section
        assert at.get(element), (section, element)


def test_try_a_text_speaks_the_models_language_and_thai_labels_have_a_gloss():
    """Issue 11.11."""
    at = AppTest.from_file("../app_pages/topic_maps.py", default_timeout=120)
    at.run()
    at.segmented_control(key="topic_section").set_value("topics").run()
    table = at.get("arrow_data_frame")[0].value if at.get("arrow_data_frame") else None
    editor = table if table is not None else at.dataframe[0].value
    assert {"relevant", "words", "in English"} <= set(editor.columns)
    assert "Sea view" in set(editor["in English"])
    at.selectbox(key="topic_lang").set_value("en").run()
    at.segmented_control(key="topic_section").set_value("try").run()
    text = at.text_area[0].value
    assert "sea view" in text and not any("\u0e00" <= ch <= "\u0e7f" for ch in text)
    assert not at.warning  # the English example's words are in the English model's vocabulary
