"""Topic maps: LDA over property listings (Thai and English), on a map, with trends and niches.

Widgets -> unsup calls -> unsup.viz figures; the panels live in unsup.ui.topics. Nothing is fitted
on page load: the built-in corpus comes with a shipped model (checkpoints/topics-*.safetensors), and the
user's own file is fitted in a background job.
"""

import streamlit as st

from unsup.ui import topics as ui
from unsup.ui.text import md

st.title("🗺️ Topic maps")
st.markdown(
    "**LDA** (latent Dirichlet allocation) reads a pile of listing descriptions and finds "
    "*topics*: each topic a distribution over words β, each listing a mixture θ of topics, with "
    "Dirichlet priors tying them together. No labels are given; the topics below (sea view, "
    "nature, spacious design, …) come out of the word co-occurrences alone.")

act = ui.sidebar_source()
if act is None:
    st.stop()
focus, lam = ui.sidebar_focus(act)
st.caption(md(ui.model_caption(act)))

SECTIONS = {
    "map": "🗺️ Map",
    "topics": "📋 Topics",
    "trends": "📈 Trends & niches",
    "doc": "📄 Document",
    "try": "✍️ Try a text",
    "k": "🔢 Choose K · pLSA",
    "io": "💾 Export & load",
}
section = st.segmented_control("Section", list(SECTIONS), format_func=SECTIONS.get,
                               default="map", key="topic_section",
                               label_visibility="collapsed") or "map"

if section == "map":
    ui.map_section(act, focus)
elif section == "topics":
    ui.topics_section(act, focus, lam)
elif section == "trends":
    ui.trends_section(act, focus)
elif section == "doc":
    ui.document_section(act)
elif section == "try":
    ui.try_text_section(act)
elif section == "k":
    ui.choose_k_section(act)
else:
    ui.export_section(act)
