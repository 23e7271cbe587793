"""Pure figure builders: arrays in, figures out (no Streamlit, no models)."""

import plotly.io as _pio

_pio.templates.default = "plotly_white"
"""Every figure's template, set once for the process: naming the template in each figure's
layout made plotly deep-copy and validate the whole template per figure (~25 ms of a 2-D lab
redraw's ~50 ms); the default is attached at serialisation, so the JSON is the same."""
