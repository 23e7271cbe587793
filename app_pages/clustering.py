"""Clustering & latent atlas: K-means against Gaussian mixtures and the DP mixture, on a 2-D toy
and on MNIST as pixels, PCA and learned codes; eigen-images; a map of any model's latent space."""

import streamlit as st

from unsup.ui import clustering as ui
from unsup.ui.registry import page_header
from unsup.ui.text import safe

SECTIONS = ["2-D toy", "MNIST table", "Eigen-images", "Atlas"]
section = page_header(
    "Clustering & latent atlas",
    safe("Clustering finds the hidden class labels of the data. K-means finds the means and "
         "assigns each point to the nearest one; a Gaussian mixture (GMM) also learns each "
         "cluster's covariance and assigns softly; a Dirichlet-process mixture, the limit of "
         "the Chinese restaurant process, even chooses K. But a clustering is only as good as "
         "its distance: pixel-wise L2 is too low-level (\"a white cat is more similar to a "
         "white dog than to an orange cat\"). Compare raw pixels, PCA and the codes the "
         "autoencoders learnt — measured on held-out digits — and explore any model's latent "
         "space on a map."),
    SECTIONS, key="cl_section")

if section == "2-D toy":
    st.caption("Pick points and a method. The background shows which cluster would claim each "
               "location (the decision regions).")
    ui.toy_section()
elif section == "MNIST table":
    st.caption("The same digits, three ways: raw pixels (784 numbers), their first k principal "
               "components, and the code of every trained encoder that reads 28×28 digits "
               "(shipped models and your runs). Each method clusters each representation "
               "without labels; the labels only score the result.")
    ui.table_section()
elif section == "Eigen-images":
    st.caption("PCA finds the directions in which the images vary most. Drawn as images they "
               "are the eigen-images (eigenfaces, for faces); any image is the mean plus a "
               "weighted sum of them.")
    ui.eigen_section()
else:
    ui.atlas_section()
