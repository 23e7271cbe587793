"""GAN applications: a GAN loss added to a task (Ledig et al. 2017)."""

import streamlit as st

from unsup.ui import ganapps as ui
from unsup.ui import text2img as t2i
from unsup.ui.registry import page_header
from unsup.ui.text import safe

SECTIONS = ["Super-resolution", "Inpainting", "Text to image", "Train"]
section = page_header(
    "GAN applications",
    safe("A GAN's discriminator can be added to any image task as one more loss: it pushes the "
         "output towards what real images look like. Super-resolution shows what that buys and "
         "what it costs: sharper, more realistic images that are *further* from the truth "
         "pixel by pixel (the perception–distortion trade-off). Inpainting shows it again on a "
         "hole, and text to image draws a sprite from an English or Thai sentence."),
    SECTIONS, key="ga_section")

if section == "Train":
    ui.training_form()
elif section == "Inpainting":
    ui.inpaint_section()
elif section == "Text to image":
    t2i.t2i_section()
else:
    ui.sr_section()
