"""unsup: a latent-space lab. The shared package behind every page of the app.

Layout (see ../shared/DESIGN.md):
- ``unsup.data``        built-in data sets, generators, upload parsing
- ``unsup.models``      one file per model family, all following ``unsup.models.base``
- ``unsup.train``       the one training loop (``fit``)
- ``unsup.jobs``        background training jobs
- ``unsup.checkpoints`` safetensors + JSON cards, shipped and user runs
- ``unsup.metrics``     ELBO, importance-weighted bounds, ...
- ``unsup.viz``         pure functions returning plotly figures and PIL images
"""

__version__ = "0.1.0"
