"""CycleGAN: image-to-image translation without paired data."""

from unsup.ui import cyclegan as ui
from unsup.ui import training
from unsup.ui.registry import page_header
from unsup.ui.text import safe

SECTIONS = ["Translate", "Grid", "Label flips", "Training timelapse", "Metrics", "Train"]
section = page_header(
    "CycleGAN",
    safe("Two generators translate between domains A and B (G_AB: A → B, G_BA: B → A) and "
         "two discriminators judge each domain, trained on images that are *not* in pairs. What "
         "keeps a translation faithful is cycle consistency (Zhu et al. 2017): "
         "G_BA(G_AB(a)) ≈ a and G_AB(G_BA(b)) ≈ b."),
    SECTIONS, key="cg_section")
training.keep("cg_model")  # the picked model survives a visit to a section without the picker

if section == "Translate":
    ui.translate_section()
elif section == "Grid":
    ui.grid_section()
elif section == "Label flips":
    ui.flips_section()
elif section == "Training timelapse":
    ui.timelapse_section()
elif section == "Metrics":
    ui.metrics_section()
else:
    ui.training_form()
