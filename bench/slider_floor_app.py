"""The floor under the VAE slider (bench/bench_browser.py): the same mechanism as the VAE page's
slider panel — an st.fragment holding a slider and a 28x28 image shown at 224 px as a PNG — with
no model at all (the "decoder" is a brightness ramp, microseconds). Whatever a slider move costs
here is Streamlit's round trip and Chromium's drawing on this machine, which no page code can
remove."""

import numpy as np
import streamlit as st
from PIL import Image

st.title("Slider floor")


@st.fragment
def panel() -> None:
    v = st.slider("z", -3.0, 3.0, 0.0, 0.05, key="z")
    x = (np.outer(np.linspace(0, 1, 28), np.ones(28)) * (v + 3) / 6 * 255).astype(np.uint8)
    st.image(Image.fromarray(x).resize((224, 224), Image.NEAREST), width=224,
             output_format="PNG")


panel()
