"""Normalizing flows: exact likelihood you can watch (Dinh et al. 2017, Kingma & Dhariwal 2018)."""

import streamlit as st

from unsup.ui import flows as ui
from unsup.ui.registry import page_header
from unsup.ui.text import safe

SECTIONS = ["2-D flows", "Live", "Glow", "Encode & edit", "Likelihood", "Train"]
section = page_header(
    "Normalizing flows",
    safe("A VAE bounds the likelihood and a GAN has none. A normalizing flow is an invertible "
         "network from the data to Gaussian noise, so the change-of-variables formula gives "
         "every point's **exact** log-likelihood: log p(x) = log N(f(x)) + log |det ∂f/∂x| "
         "(RealNVP, Dinh et al. 2017; Glow, Kingma & Dhariwal 2018)."),
    SECTIONS, key="fl_section")

if section == "Train":
    ui.training_form()
elif section == "Live":
    ui.live_section()
elif section == "Glow":
    ui.glow_section()
elif section == "Encode & edit":
    ui.encode_section()
elif section == "Likelihood":
    ui.likelihood_section()
else:
    ui.flows_2d_section()
