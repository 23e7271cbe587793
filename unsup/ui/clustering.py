"""The clustering page's panels: the 2-D toy, the MNIST table, eigen-images and the latent atlas.
Compute lives in unsup.metrics.clustering and unsup.recipes.clustering, figures in
unsup.viz.clustering; this module holds the widgets, the caches and the captions (each caption
that states a result is computed from the numbers it describes)."""

from __future__ import annotations

import io

import numpy as np
import streamlit as st

from unsup import checkpoints, families
from unsup.data import uploads
from unsup.jobs import get_runner
from unsup.metrics import clustering as C
from unsup.recipes import clustering as R
from unsup.ui import tables, training
from unsup.ui.measure import derived_job_button, job_status
from unsup.ui.models import load_model, model_of, pick_entry
from unsup.ui.text import join, md, safe
from unsup.viz import clustering as V

PAGE = "clustering"
GRID = 120  # decision-region grid cells per side


# -- models ----------------------------------------------------------------------------------------
def encoders() -> list[checkpoints.Entry]:
    return R.encoder_entries()


def encoder_kinds() -> tuple[str, ...]:
    return tuple(k for k in families.all_kinds() if R.has_encoder(k))


# -- 1. the 2-D toy ------------------------------------------------------------------------------
@st.cache_data(max_entries=64, show_spinner=False)
def toy_result(X: np.ndarray, method: str, k: int, alpha: float, cap: int, seed: int) -> dict:
    """Fit once per (points, settings): assignments, centres, ellipses, regions on a grid."""
    cl = C.fit_clusters(X, method, k, seed=seed, alpha=alpha, max_components=cap)
    lo, hi = X.min(0), X.max(0)
    pad = 0.12 * np.maximum(hi - lo, 1e-6) + 0.5
    x0, y0 = lo - pad
    x1, y1 = hi + pad
    gx, gy = np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID)
    grid = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2)  # row 0 = y0
    keep = np.arange(len(cl.centers))
    if method == "dp":  # show only the components that count as clusters
        keep = np.flatnonzero(cl.weights >= C.DP_MIN_WEIGHT)
    probs = cl.proba(grid)[:, keep]
    probs = probs / np.maximum(probs.sum(1, keepdims=True), 1e-12)
    resp = cl.resp[:, keep] / np.maximum(cl.resp[:, keep].sum(1, keepdims=True), 1e-12)
    covs = cl.covariances()
    return {"resp": resp, "centers": cl.centers[keep], "weights": cl.weights,
            "covariances": None if covs is None else covs[keep],
            "probs": probs.reshape(GRID, GRID, -1), "extent": (float(x0), float(x1),
                                                                float(y0), float(y1)),
            "n_clusters": cl.n_clusters, "note": cl.note}


@st.cache_data(max_entries=32, show_spinner=False)
def kmeans_history(X: np.ndarray, k: int, seed: int, init: str) -> tuple[list, list]:
    steps = C.kmeans_steps(X, k, seed=seed, init=init)
    return steps, [C.inertia(X, c, lab) for c, lab in steps]


@st.cache_data(max_entries=8, show_spinner=False)
def _toy(kind: str, n: int, k: int, spread: float, seed: int):
    return R.toy_points(kind, n, k, seed, spread)


def _drawn_points(n: int, seed: int) -> np.ndarray | None:
    from PIL import Image

    from unsup.ui.draw import draw_pad  # registers the component only when used

    png = draw_pad("cl_draw")
    if not png:
        st.info("Draw a few strokes or blobs on the pad (each stroke end sends the drawing); "
                "points are sampled from the ink.")
        return None
    try:
        img = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64) / 255
    except OSError:
        st.warning("The drawing could not be read; draw again.")
        return None
    return R.points_from_drawing(img, n, seed)


DEFAULT_POINTS = [{"x": float(x), "y": float(y)} for x, y in
                  [(0, 0), (0.5, 0.3), (0.2, 0.8), (4, 4), (4.5, 3.6), (3.8, 4.4), (0, 4),
                   (0.4, 4.3), (-0.3, 3.7)]]


def _typed_points() -> np.ndarray:
    import pandas as pd

    rows = st.data_editor(pd.DataFrame(DEFAULT_POINTS), num_rows="dynamic", key="cl_table",
                          column_config={"x": st.column_config.NumberColumn("x"),
                                         "y": st.column_config.NumberColumn("y")})
    X, problems = R.points_from_rows(rows.to_dict("records"))
    for p in problems:
        st.warning(md(p))
    return X


def toy_section() -> None:
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox("Points", list(R.TOYS), format_func=R.TOYS.get, key="cl_toy")
    method = c2.selectbox("Method", list(C.METHODS), format_func=C.METHODS.get, index=3,
                          key="cl_method")
    seed = int(c3.number_input("Seed", 0, 10_000, 0, key="cl_seed"))
    c1, c2, c3, c4 = st.columns(4)
    n = c1.slider("Points", 30, 1000, 300, 10, key="cl_n")
    true_k = c2.slider("Groups drawn", 1, 8, 3, key="cl_truek",
                       disabled=kind not in ("blobs", "aniso"))
    spread = c3.slider("Spread σ", 0.1, 2.0, 0.8, 0.1, key="cl_spread",
                       disabled=kind not in ("blobs", "aniso", "moons"))
    k = c4.slider("Clusters K" if method != "dp" else "Most components (cap)", 1, 12,
                  3 if method != "dp" else 10, key=f"cl_k_{method == 'dp'}")
    alpha = 1.0
    if method == "dp":
        alpha = st.select_slider("Concentration α (the CRP's: how readily a new cluster opens)",
                                 [0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0], 1.0, key="cl_alpha")
    y = None
    if kind == "draw":
        X = _drawn_points(n, seed)
    elif kind == "table":
        X = _typed_points()
    else:
        X, y = _toy(kind, n, true_k, spread, seed)
    need = 2 if method == "dp" else max(k, 2)
    if X is None:
        return
    if len(X) < need:
        st.warning(f"{len(X)} point(s): at least {md(need)} are needed for {C.METHODS[method]} "
                   f"with K = {md(k)}. Add points or lower K.")
        return
    res = toy_result(X, method, int(k), float(alpha), int(k), seed)
    shade = st.toggle("Soft-assignment shading", True, key="cl_shade",
                      help="On: each point and region mixes its clusters' colours by the "
                           "probability of each. Off: the most likely cluster only.")
    fig = V.toy_figure(X, res["resp"], res["centers"], res["probs"], res["extent"],
                       covariances=res["covariances"], shade=shade, true_labels=y,
                       title=f"{C.METHODS[method]}: {res['n_clusters']} clusters on {len(X)} "
                             "points")
    st.plotly_chart(fig, key="cl_toy_fig")
    _toy_caption(method, res, y, true_k if kind in ("blobs", "aniso") else (
        2 if kind == "moons" else None))
    if method == "dp":
        st.plotly_chart(V.dp_weights_bar(res["weights"], C.DP_MIN_WEIGHT,
                                         true_k if kind in ("blobs", "aniso") else None),
                        key="cl_dp_fig")
    with st.expander("K-means, step by step", expanded=method == "kmeans"):
        init = st.radio("Start", ["random", "k-means++"], horizontal=True, key="cl_init",
                        format_func={"random": "K random points",
                                     "k-means++": "k-means++ (spread out)"}.get)
        steps, inertias = kmeans_history(X, int(min(k, len(X))), seed, init)
        st.plotly_chart(V.kmeans_animation(X, steps, inertias, res["extent"]), key="cl_km_fig")
        st.caption(f"Lloyd's algorithm from {md(init)} centres (seed {md(seed)}): assign each point "
                   f"to its nearest centre, move each centre to its points' mean, repeat. It "
                   f"stopped after {len(steps) - 1} step(s), when no point changed cluster; the "
                   f"objective fell from {inertias[0]:,.1f} to {inertias[-1]:,.1f} (the sum of "
                   "squared distances to the centres, lower is better). Press ▶ or drag the "
                   "slider.")
    with st.expander("The Chinese restaurant process (where the DP mixture comes from)"):
        crp_panel()


def _toy_caption(method: str, res: dict, y, true_k: int | None) -> None:
    if y is not None:
        labels = res["resp"].argmax(1)
        s = C.scores(y, labels)
        c1, c2, c3 = st.columns(3)
        c1.metric("NMI with the drawn groups", f"{s['nmi']:.3f}",
                  help="Normalized mutual information, 0..1: 1 = the clusters are exactly the "
                       "groups the points were drawn from. Higher is better.")
        c2.metric("ARI with the drawn groups", f"{s['ari']:.3f}",
                  help="Adjusted Rand index: 1 = same grouping, 0 = as good as chance. "
                       "Higher is better.")
        c3.metric("Clusters used", res["n_clusters"],
                  help=f"The points were drawn from {md(true_k)} groups." if true_k else None)
    if method == "dp":
        verdict = ("" if true_k is None else
                   " — the number of groups the points were drawn from" if res["n_clusters"] ==
                   true_k else f" (the points were drawn from {true_k} groups)")
        st.caption(f"The Dirichlet-process mixture was allowed up to "
                   f"{len(res['weights'])} components and kept {md(res['n_clusters'])} (weight ≥ "
                   f"{C.DP_MIN_WEIGHT:.0%}){md(verdict)}. {md(res['note'].capitalize())}.")
    elif method.startswith("gmm"):
        st.caption("Rings: 1σ (solid) and 2σ (dotted) ellipses of each Gaussian. Spherical "
                   "covariance draws circles, diagonal axis-aligned ellipses, full any ellipse. "
                   "K-means is the hard-assignment, spherical limit.")


def crp_panel() -> None:
    c1, c2, c3 = st.columns(3)
    n = c1.slider("Customers", 10, 2000, 200, 10, key="crp_n")
    alpha = c2.select_slider("α", [0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0], 2.0, key="crp_alpha")
    seed = int(c3.number_input("Seed", 0, 10_000, 0, key="crp_seed"))
    seats = C.crp_seating(n, alpha, seed)
    expected = C.crp_expected_tables(n, alpha)
    st.plotly_chart(V.crp_bar(seats, alpha, expected), key="crp_fig")
    st.caption(f"Customer i joins a table with probability (people there) / (i + α) or opens a "
               f"new one with probability α / (i + α). This run opened {md(seats.max() + 1)} "
               f"tables for {md(n)} customers; on average α·Σ 1/(α+i) = {expected:.1f}. New tables "
               "keep opening, ever more slowly: the number of clusters grows with the data.")


# -- 2. the MNIST table --------------------------------------------------------------------------
def table_section() -> None:
    """The table reads stored cells (:mod:`unsup.recipes.clustering_table`): the opening
    settings are stored for the shipped encoders; other settings, or a new run's codes, are
    computed by a background job on request. Nothing is fitted on the page's thread."""
    from unsup.recipes import clustering_table as T

    c1, c2, c3, c4 = st.columns(4)
    split = c1.radio("Digits", list(R.SPLITS), key="tb_split", format_func=lambda s: {
        "test": "500 test", "train": "4,500 train"}[s], horizontal=True)
    k = c2.slider("Clusters K", 2, 20, T.DEFAULT_K, key="tb_k")
    pca_k = c3.slider("PCA components k", 2, 100, T.DEFAULT_PCA_K, key="tb_pca")
    metric = c4.radio("Score", ["nmi", "ari"], format_func=V.SCORE_LABELS.get, key="tb_metric",
                      horizontal=True)
    mnist_models = [e for e in encoders() if R.is_mnist_encoder(e)]
    cells = T.cells(split, k, pca_k, [str(e.path) for e in mnist_models])
    found, missing = T.lookup(cells)
    rows = [r for r in found if r is not None]
    skipped_note(rows)
    rows = [r for r in rows if not r.get("skipped")]
    job_status(PAGE)
    if missing:
        n_reps = len({(c.rep, c.path) for c in missing})
        st.info(f"{len(missing)} of {len(cells)} cells of this table are not computed yet "
                f"({n_reps:d} representation(s) at these settings). Computing them fits each "
                "clustering method in the background; they are kept on disk, so each is "
                "computed once.")
        derived_job_button(PAGE, f"Compute the {len(missing)} missing cells (background)",
                           f"MNIST table: {len(missing)} cells", T.work(missing),
                           key="tb_compute")
    if not rows:
        return
    tables.show(V.score_table(rows, metric), {"representation": tables.Col(width=260)},
                key="tb_table")
    st.plotly_chart(V.scores_chart(rows, metric), key="tb_chart")
    st.caption(md(table_caption(rows, split, k, metric)))


def skipped_note(rows: list[dict]) -> None:
    """One line per representation the table leaves out, and why (a diverged model's codes)."""
    why = {r["representation"]: r["skipped"] for r in rows if r.get("skipped")}
    for rep, reason in why.items():
        st.warning(safe("Skipped {}: {}.", rep, reason))


def table_caption(rows: list[dict], split: str, k: int, metric: str) -> str:
    s = R.table_summary(rows)
    name = V.SCORE_LABELS[metric]
    parts = [f"On {R.SPLITS[split]}, K = {k} (the DP mixture picks its own K, capped at "
             f"{2 * k}). {name}: 1 = the clusters are exactly the digit classes; 0 = they say "
             "nothing about them (ARI can dip below 0). Higher is better. Fixed seeds."]
    if not s:
        return parts[0]
    b = s["best"]
    parts.append(f"Best NMI: {b['method']} on {b['representation']} ({b['nmi']:.3f}).")
    px, code = s.get("pixels"), s.get("best_code")
    if px and code:
        verb = "beats" if code["nmi"] > px["nmi"] else "does not beat"
        parts.append(f"K-means on {code['representation']} {verb} K-means on raw pixels: NMI "
                     f"{code['nmi']:.3f} against {px['nmi']:.3f}; "
                     f"{len(s['codes_beating_pixels'])} of {s['n_codes']} learned codes beat "
                     "the pixels — pixel-wise L2 is too low-level a distance, as the lecture "
                     "says.")
    left = [r for r in rows if r["nmi"] is None]
    if left:
        parts.append("Empty cells: " + "; ".join(f"{r['method']} on {r['representation']} "
                                                 f"{r['note'].replace('left out: ', '(')})"
                                                 for r in left) + " — left out.")
    dp = [r for r in rows if r["method_key"] == "dp" and r["k"] is not None]
    capped = [r for r in dp if r["k"] >= 2 * k]
    if dp:
        parts.append(f"The DP mixture kept {min(r['k'] for r in dp)}–{max(r['k'] for r in dp)} "
                     "components" + (f", all {2 * k} allowed on {len(capped)} of {len(dp)} "
                                     "representations: on real data it keeps splitting (the "
                                     "lecture: 'theoretically nice, but for most applications "
                                     "just pick a K')" if capped else "") + ".")
    return " ".join(parts)


# -- 3. eigen-images -------------------------------------------------------------------------------
@st.cache_data(max_entries=4, show_spinner="Computing the principal components…")
def eigen_data(source: str) -> dict:
    if source == "faces":
        from skimage.data import lfw_subset

        faces = lfw_subset()[:100].astype(np.float64)  # the first 100 are the faces
        order = np.random.default_rng(0).permutation(100)
        train, test = faces[order[:90]], faces[order[90:]]
        shape, what = faces.shape[1:], ("90 faces of the LFW subset (scikit-image)",
                                        "10 held-out faces")
    else:
        train = R.mnist("train")[0][:, 0].astype(np.float64)
        test = R.mnist("test")[0][:, 0].astype(np.float64)
        shape, what = train.shape[1:], ("the 4,500 MNIST training digits",
                                        "held-out test digits")
    flat_tr, flat_te = train.reshape(len(train), -1), test.reshape(len(test), -1)
    basis = C.pca_basis(flat_tr)
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256) if k <= len(basis.components)]
    shown = flat_te[np.linspace(0, len(flat_te) - 1, 8).astype(int)]  # spread over classes
    return {"basis": basis, "test": shown, "all_test": flat_te, "shape": tuple(shape),
            "ks": ks, "errors": C.reconstruction_error(basis, flat_te, ks), "what": what}


def eigen_section() -> None:
    c1, c2 = st.columns(2)
    source = c1.radio("Images", ["digits", "faces"], horizontal=True, key="eig_src",
                      format_func={"digits": "MNIST digits", "faces": "Faces (LFW)"}.get)
    d = eigen_data(source)
    basis, shape = d["basis"], d["shape"]
    k = c2.slider("Eigen-images used (k)", 1, len(basis.components), min(16, len(
        basis.components)), key=f"eig_k_{source}")
    ratio = basis.variance / basis.total_variance
    st.plotly_chart(V.eigen_figure(basis.mean, basis.components, ratio, shape), key="eig_fig")
    ks = sorted({1, 4, int(k)})
    recon = {kk: basis.reconstruct(d["test"], kk) for kk in ks}
    st.plotly_chart(V.reconstructions_figure(d["test"], recon, shape), key="eig_rec")
    err = C.reconstruction_error(basis, d["all_test"], [k])[0]
    st.plotly_chart(V.variance_figure(basis.explained(), d["ks"], d["errors"], chosen=k),
                    key="eig_var")
    st.caption(f"PCA of {md(d['what'][0])}: image = mean + Σ cⱼ·eigen-imageⱼ. The first {md(k)} "
               f"eigen-images keep {basis.explained()[k - 1]:.1%} of the pixel variance; "
               f"{md(d['what'][1])} rebuilt from them are off by {err:.4f} per pixel (mean "
               "squared error, lower is better, 0 = exact). PCA is linear: it keeps what "
               "varies most (stroke thickness, lighting), not what things are.")


# -- 4. the atlas ----------------------------------------------------------------------------------
@st.cache_data(max_entries=16, show_spinner=False)
def atlas_inputs(path: str, mtime: float) -> dict:
    """The model's atlas images, their codes and hover pictures (once per model)."""
    entry = next(e for e in encoders() if str(e.path) == path)
    model = load_model(path, mtime)
    data = R.atlas_data(entry.card, model)
    codes = R.encode(model, data.x_in)
    return {"data": data, "codes": codes, "hover": V.hover_art(data.x)}


@st.cache_data(max_entries=16, show_spinner=False)
def atlas_clusters(path: str, mtime: float, method: str, k: int) -> np.ndarray:
    codes = atlas_inputs(path, mtime)["codes"]
    return C.fit_clusters(codes, method, k, seed=0).labels


@st.cache_data(max_entries=16, show_spinner=False)
def atlas_pca(path: str, mtime: float):
    return C.embed_pca(atlas_inputs(path, mtime)["codes"])


@st.cache_data(max_entries=16, show_spinner=False)
def agreement(path: str, mtime: float, how: str, coords: np.ndarray) -> tuple[float, float]:
    inp = atlas_inputs(path, mtime)
    labels = inp["data"].labels
    return C.knn_agreement(coords, labels), C.knn_agreement(inp["codes"], labels)


@st.cache_data(max_entries=8, show_spinner=False)
def atlas_tiles(path: str, mtime: float) -> list[str]:
    return V.tile_uris(atlas_inputs(path, mtime)["data"].x)


def _on_select(chart_key: str) -> None:
    """Copy the map's selection into the pick widgets: a click picks a point; a click on
    another point while one is picked adds it as the second pick (to compare and interpolate
    with; the map redraws between clicks, so a shift-click's earlier point is not in the event);
    a click with two picked starts over; a box or lasso picks a region."""
    ev = st.session_state.get(chart_key) or {}
    sel = (ev.get("selection") if isinstance(ev, dict) else getattr(ev, "selection", None)) or {}
    idx = []
    for p in sel.get("points", []):
        cd = p.get("customdata")
        cd = cd[0] if isinstance(cd, (list, tuple)) and cd else cd
        if isinstance(cd, (int, float)):
            idx.append(int(cd))
    idx = list(dict.fromkeys(idx))
    box = (sel.get("box") or [None])[0]
    if box and len(box.get("x", [])) == 2 and len(box.get("y", [])) == 2:
        # a box also asks what its centre decodes to
        st.session_state["atlas_x"] = round(float(np.mean(box["x"])), 2)
        st.session_state["atlas_y"] = round(float(np.mean(box["y"])), 2)
        st.session_state["atlas_tools"] = list(dict.fromkeys(
            list(st.session_state.get("atlas_tools") or []) + ["Decode a location"]))
    if sel.get("box") or sel.get("lasso") or len(idx) > 2:
        st.session_state["atlas_region"] = idx
        st.session_state["atlas_pick"] = []
    else:
        before = [i for i in (st.session_state.get("atlas_pick") or [])][:2]
        if len(idx) == 1 and len(before) == 1 and idx[0] != before[0]:
            idx = [before[0], idx[0]]  # the second pick: compare with the first
        st.session_state["atlas_pick"] = idx
        st.session_state["atlas_region"] = []


def _name(data: R.AtlasData, i: int) -> str:
    if data.labels is None:
        return f"#{i}"
    return f"#{i} ({data.label_name} {data.class_names[int(data.labels[i])]})"


def atlas_section() -> None:
    items = encoders()
    if not items:
        st.info("No trained encoder yet. Train one on the VAE or β-VAE page, or rebuild the "
                "shipped ones with `python -m unsup train vae-mnist-16d`.")
        return
    c1, c2, c3 = st.columns([3, 2, 2])
    entry = pick_entry("Model", items, "atlas_model", default="vae-mnist-16d", where=c1,
                       kinds=encoder_kinds())
    how = c2.radio("Map", ["UMAP", "PCA"], horizontal=True, key="atlas_how",
                   help="UMAP: stored for the shipped models, computed in the background for "
                        "others. PCA: the codes' first two principal components, instant.")
    model = model_of(entry)
    if model is None:
        return
    inp = atlas_inputs(str(entry.path), entry.mtime)
    data, codes = inp["data"], inp["codes"]
    problem = R.code_problem(codes)
    if problem:
        st.warning(safe("Skipped {}: {}. Pick another model.", entry.title, problem))
        return
    color_opts = (["label"] if data.labels is not None else []) + ["cluster"] + [
        f for f in data.factors if f != data.label_name]
    color_by = c3.selectbox("Colour by", color_opts, key="atlas_color", format_func=lambda c: {
        "label": f"true {data.label_name}", "cluster": "cluster of the codes"}.get(c, c))
    if how == "UMAP":
        coords, card, note = R.find_atlas(entry, data)
        if coords is None:
            _umap_missing(entry, note)
            how, coords = "PCA", None
        else:
            src = "stored with the app" if note == "shipped" else note
            st.caption(f"UMAP of {md(codes.shape[1])}-D codes of {md(data.description)} ({md(src)}; "
                       f"{md(card.get('params', {}).get('n_neighbors'))} neighbours, seed "
                       f"{md(card.get('params', {}).get('seed'))}; made by "
                       f"{md(card.get('command') or 'the background job')}).")
    basis = None
    if how == "PCA":
        coords, basis = atlas_pca(str(entry.path), entry.mtime)
    _atlas_map(entry, model, data, codes, inp["hover"], coords, basis, how, color_by)


def _umap_missing(entry, note: str) -> None:
    running = training.job_panel(PAGE, curves=False)
    job = training.current_job(PAGE)
    why = f" ({md(note)})" if note else ""
    st.info(f"No UMAP atlas of {md(entry.title)} yet{why}: showing PCA meanwhile. A UMAP is "
            "computed in the background (the first one on a machine also compiles UMAP).")
    if not running or (job and not job.active):
        if st.button("Compute the UMAP atlas (background)", icon=":material/play_arrow:",
                     key="atlas_compute"):
            work = R.atlas_work(entry, R.umap_params())
            training.follow(PAGE, get_runner().submit_work(
                f"UMAP atlas of {entry.title}", work, page=PAGE))
            st.rerun()


def _atlas_map(entry, model, data, codes, hover, coords, basis, how, color_by) -> None:
    n = len(codes)
    map_box = st.container()
    st.session_state.setdefault("atlas_pick", [])
    st.session_state.setdefault("atlas_region", [])
    picks = [i for i in st.session_state["atlas_pick"] if 0 <= i < n][:2]
    region = [i for i in st.session_state["atlas_region"] if 0 <= i < n]
    marks = []
    tools = st.pills("Tools", ["Place a new image", "Decode a location"], key="atlas_tools",
                     selection_mode="multi") or []
    c1, c2 = st.columns(2)
    if "Place a new image" in tools:
        with c1:
            new = _new_image(entry, data)
            if new is not None:
                z = R.encode(model, new[None])[0]
                if basis is not None:
                    xy, nn = basis.transform(z[None], 2)[0], C.nearest(codes, z, 10)[0]
                    how_placed = "projected on the two principal axes (exact)"
                else:
                    xy, nn = C.place_by_neighbours(codes, coords, z, 10)
                    how_placed = ("placed at the distance-weighted mean position of its 10 "
                                  "nearest codes (UMAP is never inverted)")
                marks.append({"x": float(xy[0]), "y": float(xy[1]), "name": "your image"})
                near = ", ".join(_name(data, int(i)) for i in nn[:5])
                st.caption(f"Your image, {md(how_placed)}. Nearest codes: {md(near)}.")
    if "Decode a location" in tools:
        with c2:
            cx, cy = coords.mean(0)
            x = st.number_input("x", value=round(float(cx), 2), key="atlas_x", format="%.2f")
            y = st.number_input("y", value=round(float(cy), 2), key="atlas_y", format="%.2f")
            z, nn = C.code_at(coords, codes, np.array([x, y]), 5)
            marks.append({"x": x, "y": y, "name": "decoded here", "symbol": "diamond",
                          "color": "#d62728"})
            st.plotly_chart(V.tiles_figure([R.decode(model, z)[0, 0]], ["decoded"], 1, 4),
                            key="atlas_loc_fig")
            st.caption("The code at (x, y) — the red diamond: the distance-weighted mean of the "
                       "codes of the 5 images drawn nearest to it, decoded. (Clicks on empty "
                       "space do not reach the app; type the location.)")
    groups, names, cont = _colours(entry, data, codes, color_by)
    fig = V.atlas_figure(coords, groups, names, hover=hover, continuous=cont,
                         continuous_name=color_by, marks=marks, selected=picks or region,
                         tiles=atlas_tiles(str(entry.path), entry.mtime)
                         if st.session_state.get("atlas_tiles") else None,
                         title=f"{how} of {entry.title}'s codes: {n:,} images",
                         axis_names=("PC 1", "PC 2") if how == "PCA" else ("", ""))
    chart_key = f"atlas_map_{entry.name}_{how}"
    with map_box:
        st.toggle("Draw the images on the map", False, key="atlas_tiles")
        st.plotly_chart(fig, key=chart_key, on_select=lambda: _on_select(chart_key),
                        selection_mode=("points", "box", "lasso"))
        st.caption("Hover a point to see its image. Click a point to decode it; click a second "
                   "one to compare the two and interpolate between them (a third click starts "
                   "again); pick the box or lasso tool (top right of the map) and drag for the "
                   "region's mean image (a box's centre is also decoded, under Tools).")
        if data.labels is not None:
            a_map, a_codes = agreement(str(entry.path), entry.mtime, how, coords)
            st.caption(f"Neighbourhoods: an image's 5 nearest neighbours on this map mostly share "
                       f"its {md(data.label_name)} for {a_map:.1%} of the images (in the "
                       f"{md(codes.shape[1])}-D codes themselves: {a_codes:.1%}; higher is better).")
        st.multiselect("Picked images (or click them on the map)", list(range(n)),
                       key="atlas_pick", max_selections=2, format_func=lambda i: _name(data, i))
        _picked(model, data, codes, picks, region)


def _colours(entry, data, codes, color_by):
    if color_by == "label":
        return data.labels, data.class_names, None
    if color_by == "cluster":
        c1, c2 = st.columns(2)
        method = c1.selectbox("Clustering", list(C.METHODS), format_func=C.METHODS.get,
                              key="atlas_cmethod")
        k = c2.slider("K", 2, 20, 10, key="atlas_ck")
        labels = atlas_clusters(str(entry.path), entry.mtime, method, k)
        return labels, [f"cluster {j}" for j in range(int(labels.max()) + 1)], None
    return None, [], np.asarray(data.factors[color_by], dtype=float)


def _new_image(entry, data) -> np.ndarray | None:
    size, channels = R.input_shape(entry.card)
    src = st.radio("New image", ["Draw", "Upload"], horizontal=True, key="atlas_new_src")
    files = []
    if src == "Draw":
        from unsup.ui.draw import draw_pad
        from unsup.ui.vae import NamedBytes

        png = draw_pad("atlas_draw")
        files = [NamedBytes("drawing.png", png)] if png else []
    else:
        up = st.file_uploader("An image (PNG, JPEG, …)", key="atlas_upload",
                              max_upload_size=uploads.IMAGE_MB,
                              type=["png", "jpg", "jpeg", "bmp", "gif", "webp"])
        files = [up] if up is not None else []
    if not files:
        return None
    report = uploads.read_uploads([(f.name, f.getvalue()) for f in files], size=size,
                                  n_channels=channels)
    for p in report.problems:
        st.warning(md(p))
    if not report.images:
        return None
    x = report.array()[0]
    if data.source == "mnist":
        x = uploads.center_like_mnist(x)
    return R.model_input(entry.card, x[None])[0]


def _picked(model, data, codes, picks: list[int], region: list[int]) -> None:
    if region:
        mean_img = data.x[region].mean(0)[0]
        dec = R.decode(model, codes[region].mean(0))[0, 0]
        st.plotly_chart(V.tiles_figure([mean_img, dec], ["mean of the images",
                                                         "decoded mean code"], 2, 4),
                        key="atlas_region_fig")
        what = ""
        if data.labels is not None:
            counts = np.bincount(data.labels[region], minlength=len(data.class_names))
            top = np.argsort(-counts)[:3]
            what = safe(" Most of them: {}.", join(", ", [
                safe("{:d} × {}", int(counts[t]), data.class_names[t]) for t in top if counts[t]]))
        st.caption(f"The region holds {len(region)} images.{md(what)}")
    elif len(picks) == 1:
        i = picks[0]
        st.plotly_chart(V.tiles_figure([data.x[i][0], R.decode(model, codes[i])[0, 0]],
                                       [_name(data, i), "decoded from its code"], 2, 4),
                        key="atlas_one_fig")
    elif len(picks) == 2:
        steps = st.slider("Interpolation steps", 3, 16, 8, key="atlas_steps")
        t = np.linspace(0, 1, steps)[:, None]
        zs = (1 - t) * codes[picks[0]] + t * codes[picks[1]]
        imgs = R.decode(model, zs)[:, 0]
        st.plotly_chart(V.tiles_figure(
            [data.x[picks[0]][0], *imgs, data.x[picks[1]][0]],
            [_name(data, picks[0]), *[f"t = {v:.2f}" for v in t[:, 0]], _name(data, picks[1])],
            steps + 2, 3), key="atlas_interp_fig")
        st.caption("The two images, and between them the decoded codes (1 − t)·z₁ + t·z₂.")
