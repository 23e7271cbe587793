"""Keypoint discovery: landmarks learned without a single label (Jakab et al. 2018)."""

import streamlit as st

from unsup.ui import keypoints as ui
from unsup.ui.registry import page_header
from unsup.ui.text import safe

ui.setup()
SECTIONS = ["Keypoints", "Warps", "Move a keypoint", "Upload", "Metrics", "Train"]
section = page_header(
    "Keypoint discovery",
    safe("Take a face and a warped copy. A detector condenses the copy into K points; a "
         "generator must redraw the copy from the original's appearance and those K points "
         "alone, so the points are pushed onto the parts that move — eyes, nose, mouth — "
         "without a single label (Jakab, Gupta, Bilen & Vedaldi 2018)."),
    SECTIONS, key="kp_section")

if section == "Train":
    ui.training_form()
    st.stop()

entry, model = ui.model_picker()
if entry is None:
    ui.data_preview()
    st.stop()
if model is None:
    st.stop()

if section == "Keypoints":
    ui.keypoints_section(entry, model)
elif section == "Warps":
    ui.warps_section(entry, model)
elif section == "Move a keypoint":
    ui.move_section(entry, model)
elif section == "Upload":
    ui.upload_section(model)
else:
    ui.metrics_section(entry, model)
