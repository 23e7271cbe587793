"""GAN sample grids: the counterfeiter against the police, live in 2-D and on digits."""

from unsup.ui import gan as ui
from unsup.ui.registry import page_header
from unsup.ui.text import safe

SECTIONS = ["2-D lab", "Mode collapse", "Samples", "Timelapse", "AE frontier", "Metrics",
            "Train"]
section = page_header(
    "GAN sample grids",
    safe("A generator G (the counterfeiter) turns noise z into samples; a discriminator D (the "
         "police) tells them from real data. D maximises E log D(x) + E log(1 − D(G(z))); G "
         "minimises E log(1 − D(G(z))), or in practice maximises E log D(G(z)). The lecture's "
         "table lists seven ways to write these losses (Lucic et al. 2018). Another problem: "
         "*mode collapse*, a generator that covers only part of the data."),
    SECTIONS, key="gan_section")

if section == "2-D lab":
    ui.lab_section()
elif section == "Mode collapse":
    ui.collapse_section()
elif section == "Samples":
    ui.samples_section()
elif section == "Timelapse":
    ui.timelapse_section()
elif section == "AE frontier":
    ui.frontier_section()
elif section == "Metrics":
    ui.metrics_section()
else:
    ui.training_form()
