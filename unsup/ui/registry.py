"""Every page of the lab, in navigation order. A page whose file does not exist yet is shown as
"coming" (in the navigation and on the home page) instead of missing.

To add a page: create its file under ``pages/`` and give it a thumbnail function
(``module:function`` returning a PIL image, cached by the home page).
"""

from __future__ import annotations

from dataclasses import dataclass

from unsup.paths import ROOT


@dataclass(frozen=True)
class PageInfo:
    key: str  # url path. Streamlit knows these only after app.py has run once in the process,
    # so the very first session after a server start that opens a deep link sees a dismissible
    # "Page not found" notice (then the right page). Naming them after the page files instead
    # would make that session run the page file alone, without app.py: worse.
    title: str
    icon: str
    file: str  # relative to the repository root
    blurb: str  # one line on the home page card
    thumbnail: str | None = None  # "module:function" -> PIL.Image

    @property
    def ready(self) -> bool:
        return (ROOT / self.file).exists()


PAGES: list[PageInfo] = [
    PageInfo("topics", "Topic maps", ":material/map:", "pages/topic_maps.py",
             "LDA over Thai and English property listings, drawn on a map, with trends and niches.",
             "unsup.viz.thumbnails:topics"),
    PageInfo("vae", "VAE latent sliders", ":material/tune:", "pages/vae_sliders.py",
             "Drag a slider per latent dimension and watch the decoded digit morph.",
             "unsup.viz.vae_thumbs:thumbnail"),
    PageInfo("beta-vae", "β-VAE traversals", ":material/explore:", "pages/beta_vae.py",
             "Disentanglement on dSprites: one latent, one factor, measured.",
             "unsup.viz.betavae:thumbnail"),
    PageInfo("gan", "GAN sample grids", ":material/casino:", "pages/gan.py",
             "The lecture's GAN loss families side by side, and mode collapse you can see."),
    PageInfo("keypoints", "Keypoint discovery", ":material/location_on:", "pages/keypoints.py",
             "Landmarks learned without a single label."),
    PageInfo("cyclegan", "CycleGAN", ":material/sync_alt:", "pages/cyclegan.py",
             "Image-to-image translation without paired data."),
    PageInfo("clustering", "Clustering & latent atlas", ":material/scatter_plot:", "pages/clustering.py",
             "K-means vs GMM vs CRP, PCA and UMAP of any model's codes."),
]
