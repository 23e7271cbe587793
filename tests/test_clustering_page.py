"""The clustering page, section by section (AppTest): what each section draws — chart JSON,
table values, the numbers its captions state — checked against a computation of its own."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from unsup import checkpoints, paths
from unsup.metrics import clustering as C
from unsup.recipes import clustering as R
from unsup.viz import clustering as V


@pytest.fixture(autouse=True)
def one_thread():
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield


def run_page(section: str, **state) -> AppTest:
    at = AppTest.from_file(str(paths.ROOT / "app_pages" / "clustering.py"), default_timeout=180)
    at.session_state["cl_section"] = section
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart(at: AppTest, key: str) -> dict:
    found = [c for c in at.get("plotly_chart") if c.proto.id.endswith(key)]
    assert found, (key, [c.proto.id for c in at.get("plotly_chart")])
    return json.loads(found[0].proto.spec)


def arr(v) -> np.ndarray:
    """A plotly JSON array: a list, or plotly's typed-array form {"dtype", "bdata"[, "shape"]}."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape([int(n) for n in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v)


def has_chart(at: AppTest, key: str) -> bool:
    return any(c.proto.id.endswith(key) for c in at.get("plotly_chart"))


def captions(at: AppTest) -> str:
    """The captions as the user reads them (without md()'s markdown escapes)."""
    return " ".join(c.value for c in at.caption).replace("\\", "")


def png(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))


def shipped(name: str) -> checkpoints.Entry:
    e = next((e for e in checkpoints.list_models() if e.name == name and e.source == "shipped"),
             None)
    if e is None:
        pytest.skip(f"shipped model {name} missing")
    return e


# -- 1. the 2-D toy -----------------------------------------------------------------------------
def test_toy_draws_regions_ellipses_and_centres_that_agree():
    at = run_page("2-D toy")  # blobs, 3 groups, GMM with full covariances
    spec = chart(at, "cl_toy_fig")
    names = [d.get("name") for d in spec["data"]]
    assert sum(str(n).startswith("cluster ") for n in names) == 6  # 1σ and 2σ per cluster
    centres = next(d for d in spec["data"] if d.get("name") == "centres")
    assert len(arr(centres["x"])) == 3
    # the regions picture: at each centre, the colour of that centre's cluster
    img = spec["layout"]["images"][0]
    pic = png(img["source"])
    x0, y1, w, h = img["x"], img["y"], img["sizex"], img["sizey"]
    for x, y, col in zip(arr(centres["x"]), arr(centres["y"]), arr(centres["marker"]["color"])):
        r = int((y1 - y) / h * pic.shape[0])
        c = int((x - x0) / w * pic.shape[1])
        want = 255 - 0.35 * (255 - V._rgb(col))
        assert np.abs(pic[r, c] - want).max() <= 3
    # the scores shown are those of this clustering against the drawn groups
    X, y = R.toy_points("blobs", 300, 3, seed=0, spread=0.8)
    ref = C.scores(y, C.fit_clusters(X, "gmm_full", 3).labels)
    shown = {m.label: float(m.value) for m in at.metric if "NMI" in m.label or "ARI" in m.label}
    assert shown["NMI with the drawn groups"] == pytest.approx(ref["nmi"], abs=5e-4)
    assert shown["ARI with the drawn groups"] == pytest.approx(ref["ari"], abs=5e-4)
    assert ref["nmi"] > 0.95


def test_toy_dp_mixture_says_how_many_clusters_it_kept():
    at = run_page("2-D toy", cl_method="dp", cl_truek=4)
    bar = chart(at, "cl_dp_fig")
    weights = arr(bar["data"][0]["y"])
    kept = sum(w >= C.DP_MIN_WEIGHT for w in weights)
    assert kept == 4 and "it keeps 4 of 10; the data have 4" in bar["layout"]["title"]["text"]
    assert "kept 4 (weight ≥ 1%) — the number of groups the points were drawn from" in \
        captions(at)
    assert chart(at, "cl_toy_fig")["layout"]["title"]["text"].startswith("DP mixture: 4 clusters")


def test_toy_kmeans_steps_are_frames_whose_objective_falls():
    at = run_page("2-D toy", cl_method="kmeans", cl_truek=4, cl_spread=1.5, **{"cl_k_False": 4})
    spec = chart(at, "cl_km_fig")
    frames = spec["frames"]
    assert len(frames) == len(spec["layout"]["sliders"][0]["steps"]) >= 2
    objective = [float(re.search(r"= ([\d,.]+)", f["layout"]["title"]["text"]).group(1)
                       .replace(",", "")) for f in frames]
    assert all(b <= a for a, b in zip(objective, objective[1:]))
    cap = captions(at)
    assert f"fell from {objective[0]:,.1f} to {objective[-1]:,.1f}" in cap
    assert f"stopped after {len(frames) - 1} step(s)" in cap


def test_toy_anisotropic_blobs_full_covariance_beats_kmeans_on_screen():
    nmi = {}
    for method in ("kmeans", "gmm_full"):
        at = run_page("2-D toy", cl_toy="aniso", cl_method=method)
        nmi[method] = float(next(m.value for m in at.metric if m.label.startswith("NMI")))
    assert nmi["gmm_full"] > nmi["kmeans"] + 0.1


@pytest.mark.parametrize("toy", ["moons", "table", "draw"])
def test_toy_other_point_sets(toy):
    at = run_page("2-D toy", cl_toy=toy)
    if toy == "draw":
        assert any("Draw a few strokes" in i.value for i in at.info)
        return
    pts = chart(at, "cl_toy_fig")["data"][0]
    assert len(arr(pts["x"])) == (300 if toy == "moons" else 9)  # the table's nine starting points


def test_crp_panel_bars_match_its_caption():
    at = run_page("2-D toy", crp_n=500, crp_alpha=5.0)
    bars = arr(chart(at, "crp_fig")["data"][0]["y"])
    assert int(bars.astype(int).sum()) == 500
    seats = C.crp_seating(500, 5.0, 0)
    assert len(bars) == seats.max() + 1
    assert f"opened {len(bars)} tables for 500 customers" in captions(at)
    assert f"{C.crp_expected_tables(500, 5.0):.1f}" in captions(at)


# -- 2. the MNIST table ----------------------------------------------------------------------------
@pytest.fixture
def user_run():
    """A small user run of the VAE family (28x28 digits): it must appear as a representation."""
    from unsup.models.vae import ConvVAE, VAEConfig

    torch.manual_seed(0)
    m = ConvVAE(VAEConfig(n_latent=4, width=4, hidden=16))
    run = paths.runs_dir() / "clustering-page-test"
    checkpoints.save(m, run / "model", checkpoints.make_card(
        m, step=0, title="tiny clustering run", data={"name": "mnist"}), optimizer=False)
    yield run
    shutil.rmtree(run, ignore_errors=True)


def table_page(**state):
    """The MNIST table section with every cell computed: cells not stored yet (a new run's
    codes, settings other than the opening ones) are computed by the section's background job
    on request (issue 21, part 14), then read from disk."""
    from unsup.jobs import get_runner

    at = run_page("MNIST table", **state)
    if "tb_compute" in [b.key for b in at.button]:
        at.button(key="tb_compute").click().run()
        job = max((j for j in get_runner().list() if j.page == "clustering_measure"),
                  key=lambda j: j.started)
        assert get_runner().wait(job.id, timeout=600).status == "done"
        at = run_page("MNIST table", **state)
    assert "tb_compute" not in [b.key for b in at.button]
    return at


def test_table_scores_every_method_on_every_representation(user_run):
    at = table_page()
    df = at.dataframe[0].value
    reps = list(df["representation"])
    assert reps[:2] == ["raw pixels", "PCA, 16 components"]
    assert "tiny clustering run (your run)" in reps
    mnist_models = [e for e in R.encoder_entries() if R.is_mnist_encoder(e)]
    assert len(reps) == 2 + len(mnist_models)
    methods = list(C.METHODS.values())
    assert list(df.columns[2:7]) == methods
    vals = df[methods].to_numpy(dtype=float)
    ok = ~np.isnan(vals)
    assert ((vals[ok] >= 0) & (vals[ok] <= 1)).all()
    px = df[df["representation"] == "raw pixels"].iloc[0]
    assert np.isnan(float(px["GMM, full"]))  # 784-D full covariance: left out, and said so
    assert "GMM, full on raw pixels (a full covariance in 784 dimensions" in captions(at)
    # the chart draws the table's numbers
    spec = chart(at, "tb_chart")
    assert [d["name"] for d in spec["data"]] == methods
    km = arr(spec["data"][0]["y"])
    assert km == pytest.approx(list(df["K-means"]), abs=6e-4)
    # the lecture's claim, as the table shows it on held-out digits
    if any(e.name == "vae-mnist-16d" for e in mnist_models):
        vae = df[df["representation"] == "VAE, 16-D latent (shipped)"].iloc[0]
        assert vae["K-means"] > px["K-means"]
    best = np.nanmax(vals)
    assert "Best NMI: " in captions(at) and f"({best:.3f})" in captions(at)


def test_table_ari_and_pca_size():
    at = table_page(tb_metric="ari", tb_pca=4)
    df = at.dataframe[0].value
    assert "PCA, 4 components" in list(df["representation"])
    assert chart(at, "tb_chart")["layout"]["title"]["text"].startswith("ARI")
    _, y = R.mnist("test")
    ref = C.scores(y, C.fit_clusters(R.pca_rep("test", 4).X, "kmeans", 10).labels)["ari"]
    row = df[df["representation"] == "PCA, 4 components"].iloc[0]
    assert float(row["K-means"]) == pytest.approx(ref, abs=6e-4)


# -- 3. eigen-images -----------------------------------------------------------------------------
@pytest.mark.parametrize("source,side", [("digits", 28), ("faces", 25)])
def test_eigen_images_and_reconstructions(source, side):
    at = run_page("Eigen-images", eig_src=source, **{f"eig_k_{source}": 8})
    eig = chart(at, "eig_fig")
    texts = [a["text"] for a in eig["layout"]["annotations"]]
    assert texts[0] == "mean" and len(texts) == 17 and texts[1].startswith("#1 · ")
    shares = [float(t.split("· ")[1].rstrip("%")) for t in texts[1:]]
    assert shares == sorted(shares, reverse=True)
    rec = chart(at, "eig_rec")
    rows = [a["text"] for a in rec["layout"]["annotations"]]
    assert rows.count("original") == 8 and rows.count("k = 8") == 8 and rows.count("k = 1") == 8
    var = chart(at, "eig_var")
    kept = arr(var["data"][0]["y"])[7]
    assert f"The first 8 eigen-images keep {kept:.1%}" in captions(at)
    errs = arr(var["data"][1]["y"])
    assert all(b <= a for a, b in zip(errs, errs[1:]))  # more components, smaller error
    assert png(eig["data"][0]["source"]).shape[1] > side * 9  # nine tiles a row


# -- 4. the atlas ---------------------------------------------------------------------------------
def test_atlas_of_a_shipped_model_is_the_stored_umap_with_a_picture_per_hover():
    entry = shipped("vae-mnist-16d")
    at = run_page("Atlas")
    assert "stored with the app" in captions(at)
    spec = chart(at, "atlas_map_vae-mnist-16d_UMAP")
    digits = [d for d in spec["data"] if d["type"] == "scattergl"]
    assert [d["name"] for d in digits] == [str(i) for i in range(10)]
    idx = np.concatenate([arr(d["customdata"]).ravel() for d in digits]).astype(int)
    assert sorted(idx) == list(range(500))
    xy = np.concatenate([np.c_[arr(d["x"]), arr(d["y"])] for d in digits])
    stored, _ = R.read_atlas(R.ATLAS_DIR / "vae-mnist-16d.npz")
    assert np.allclose(xy, stored[idx], atol=1e-4)
    _, y = R.mnist("test")
    assert all((y[arr(d["customdata"]).ravel().astype(int)] == int(d["name"])).all()
               for d in digits)
    assert all("█" in t for t in digits[0]["hovertext"])
    assert "images" not in spec["layout"]  # pictures on the map only when asked
    at.toggle(key="atlas_tiles").set_value(True).run()
    tiles = chart(at, "atlas_map_vae-mnist-16d_UMAP")["layout"]["images"]
    assert len(tiles) == 500 and png(tiles[0]["source"]).shape[:2] == (28, 28)
    agree = C.knn_agreement(stored, y)
    assert f"mostly share its digit for {agree:.1%} of the images" in captions(at)
    assert entry.name in spec["layout"]["title"]["text"] or "VAE" in spec["layout"]["title"]["text"]


def test_atlas_picks_decode_interpolate_and_average_a_region():
    at = run_page("Atlas", atlas_pick=[5])
    one = chart(at, "atlas_one_fig")
    assert [a["text"] for a in one["layout"]["annotations"]] == ["#5 (digit 0)",
                                                                 "decoded from its code"]
    at = run_page("Atlas", atlas_pick=[5, 480], atlas_steps=6)
    strip = [a["text"] for a in chart(at, "atlas_interp_fig")["layout"]["annotations"]]
    assert strip[0] == "#5 (digit 0)" and strip[-1] == "#480 (digit 9)" and len(strip) == 8
    assert strip[1] == "t = 0.00" and strip[-2] == "t = 1.00"
    region = list(range(100, 140)) + [450, 451]  # 40 twos and 2 nines
    at = run_page("Atlas", atlas_region=region)
    fig = chart(at, "atlas_region_fig")
    pic = png(fig["data"][0]["source"])
    assert pic.shape[0] > 28
    assert "The region holds 42 images. Most of them: 40 × 2, 2 × 9." in captions(at)
    ring = next(d for d in chart(at, "atlas_map_vae-mnist-16d_UMAP")["data"]
                if d.get("name") == "picked")
    assert len(arr(ring["x"])) == 42


def test_atlas_pca_colours_by_cluster_and_decodes_a_location():
    entry = shipped("vae-mnist-16d")
    at = run_page("Atlas", atlas_how="PCA", atlas_color="cluster", atlas_ck=4,
                  atlas_tools=["Decode a location"], atlas_x=0.0, atlas_y=0.0)
    spec = chart(at, "atlas_map_vae-mnist-16d_PCA")
    assert spec["layout"]["xaxis"]["title"]["text"] == "PC 1"
    groups = [d for d in spec["data"] if d["type"] == "scattergl"]
    assert [d["name"] for d in groups] == [f"cluster {j}" for j in range(4)]
    model = checkpoints.load(entry.path)
    codes = R.encode(model, R.atlas_data(entry.card, model).x_in)
    pc, _ = C.embed_pca(codes)
    for d in groups:
        i = arr(d["customdata"]).ravel().astype(int)
        assert np.allclose(np.c_[arr(d["x"]), arr(d["y"])], pc[i], atol=1e-4)
    mark = next(d for d in spec["data"] if d.get("name") == "decoded here")
    assert arr(mark["x"]).tolist() == [0.0] and arr(mark["y"]).tolist() == [0.0]
    assert has_chart(at, "atlas_loc_fig")


def test_atlas_of_a_dsprites_model_colours_by_a_factor():
    shipped("betavae-b4")
    at = run_page("Atlas", atlas_model="betavae-b4", atlas_color="scale")
    spec = chart(at, "atlas_map_betavae-b4_UMAP")
    (sc,) = [d for d in spec["data"] if d["type"] == "scattergl"]
    assert len(arr(sc["x"])) == R.DSPRITES_ATLAS_N and sc["marker"]["showscale"]
    assert set(arr(sc["marker"]["color"]).astype(int)) <= set(range(6))
    assert "stored with the app" in captions(at)


def test_atlas_of_a_run_without_a_stored_map_offers_pca_then_a_background_umap(user_run):
    from unsup.jobs import get_runner

    entry = next(e for e in R.encoder_entries() if e.path.parent == user_run)
    data = R.atlas_data(entry.card, checkpoints.load(entry.path))
    R.cache_atlas_path(R.file_sha(entry.path), data.fingerprint, R.umap_params()).unlink(
        missing_ok=True)  # the same seeded weights as an earlier test session's
    at = run_page("Atlas", atlas_model=entry.name)
    assert any("No UMAP atlas of tiny clustering run yet" in i.value for i in at.info)
    assert has_chart(at, f"atlas_map_{entry.name}_PCA")
    at.button(key="atlas_compute").click().run()
    jobs = [j for j in get_runner().list() if j.page == "clustering"]
    assert jobs, "no job was started"
    snap = get_runner().wait(jobs[-1].id, timeout=300)
    assert snap.status == "done", snap.error
    at = run_page("Atlas", atlas_model=entry.name)
    assert "computed earlier on this machine" in captions(at)
    assert has_chart(at, f"atlas_map_{entry.name}_UMAP")


def test_selection_callback_turns_clicks_into_picks_and_a_box_into_a_region():
    from unsup.ui import clustering as ui

    class FakeState(dict):
        pass

    state = FakeState()
    state["map"] = {"selection": {"points": [{"customdata": 7}, {"customdata": [9]}],
                                  "box": [], "lasso": []}}
    import streamlit as st

    real = st.session_state
    try:
        ui.st.session_state = state
        ui._on_select("map")
        assert state["atlas_pick"] == [7, 9] and state["atlas_region"] == []
        state["map"] = {"selection": {"points": [{"customdata": i} for i in (1, 2, 3)],
                                      "box": [{"x": [0.0, 2.0], "y": [-1.0, 3.0]}], "lasso": []}}
        ui._on_select("map")
        assert state["atlas_region"] == [1, 2, 3] and state["atlas_pick"] == []
        assert (state["atlas_x"], state["atlas_y"]) == (1.0, 1.0)
        assert "Decode a location" in state["atlas_tools"]
    finally:
        ui.st.session_state = real


def test_home_thumbnail_is_the_shipped_atlas():
    shipped("vae-mnist-16d")
    img = R.thumbnail()
    assert img.size == (320, 200)
    a = np.asarray(img)
    assert (a != 255).any(axis=2).mean() > 0.02  # dots were drawn
