"""The "Normalizing flows" page's pieces: the 2-D flows section and the training form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from unsup import checkpoints
from unsup.checkpoints import Entry
from unsup.recipes import flows as R
from unsup.ui import tables, training
from unsup.ui.models import load_model, model_of, pick_entry
from unsup.ui.text import md
from unsup.viz import flows as viz

PAGE = "flows"


def entries() -> list[Entry]:
    return checkpoints.list_models(R.KIND)


@st.cache_data(max_entries=16, show_spinner=False)
def flow_view(path: str, mtime: float) -> dict:
    """What the canvas draws of a checkpoint (density lattice, samples, the base grid's stages):
    computed once per file version (~0.2 s)."""
    model = load_model(path, mtime)
    data = R.mixture_of(model) or R.data_2d("ring", n=16)
    return R.view(model, data)


def card_numbers(entry: Entry) -> dict | None:
    m = (entry.card or {}).get("metrics") or {}
    return m if "gap" in m else None


def comparison_table(entry: Entry, m: dict) -> pd.DataFrame:
    """The flow's held-out numbers beside the GAN lab's shipped GAN on the same points (both
    from their cards)."""
    data = ((entry.card or {}).get("data") or {}).get("name", "")
    rows = [{"model": f"this flow ({entry.name})", "held-out log p(x), nats": m["ll"],
             "true density's, nats": m["ll_true"], "gap (KL), nats": m["gap"],
             "modes": f"{m['modes']:g} / {m['n_modes']}", "high-quality %": 100 * m["hq"]}]
    gan = checkpoints.find(R.COMPARE[data]) if data in R.COMPARE else None
    gm = ((gan.card or {}).get("metrics") or {}) if gan is not None else {}
    if "modes" in gm:
        rows.append({"model": f"GAN lab's {gan.name}", "held-out log p(x), nats": None,
                     "true density's, nats": m["ll_true"], "gap (KL), nats": None,
                     "modes": f"{gm['modes']:g} / {gm.get('n_modes', m['n_modes'])}",
                     "high-quality %": 100 * gm["hq"]})
    return pd.DataFrame(rows)


def verdict(entry: Entry, m: dict) -> str:
    """One sentence computed from the two rows of :func:`comparison_table`."""
    data = ((entry.card or {}).get("data") or {}).get("name", "")
    gan = checkpoints.find(R.COMPARE[data]) if data in R.COMPARE else None
    gm = ((gan.card or {}).get("metrics") or {}) if gan is not None else {}
    flow = (f"The flow covers {m['modes']:g} of {m['n_modes']} modes with "
            f"{100 * m['hq']:.1f}% of its samples within 3σ of one")
    if data == "moons":
        gan_part = (f"; the GAN's: {100 * gm['hq']:.1f}%, reaching {gm['modes']:g} of the arcs' "
                    f"{m['n_modes']} Gaussians against the flow's {m['modes']:g}"
                    if "hq" in gm else "")
        return (f"{100 * m['hq']:.1f}% of the flow's samples lie within 3σ of the arcs{gan_part}. "
                f"Only the flow has a density: {m['gap']:.3f} nats a point below the true one. "
                "Two moons is a band, not blobs: its \"modes\" are Gaussians spaced closer than "
                "their σ along the arcs, each needing ≥ 20 of 2,500 samples (25 on average), so "
                "the mode count says little here.")
    if "hq" not in gm:
        return flow + "."
    more = "fewer" if m["hq"] < gm["hq"] else "more"
    return (f"{flow}; the GAN covers {gm['modes']:g} with {100 * gm['hq']:.1f}%: the flow puts "
            f"{more} of its samples on the modes, and only the flow can say how likely a point "
            f"is (its log-likelihood is {m['gap']:.2f} nats a point below the true density's).")


COLUMNS = {
    "model": tables.Col(width=220),
    "held-out log p(x), nats": tables.Col("log p(x), nats", 110, "Mean log-likelihood of the held-out "
                                          "points, nats a point (higher is better; a GAN has "
                                          "none).", "%.2f"),
    "true density's, nats": tables.Col("true density's", 110, "The true mixture density's mean "
                                       "log-likelihood on the same points: the ceiling.",
                                       "%.2f"),
    "gap (KL), nats": tables.Col("gap (KL), nats", 110, "True minus the flow's: KL(p ‖ q) estimated, nats a "
                                 "point (lower is better).", "%.3f"),
    "modes": tables.Col(width=80, help="Modes with ≥ 20 of 2,500 samples within 3σ (higher is "
                        "better)."),
    "high-quality %": tables.Col("high-quality %", 110, "Share of samples within 3σ of a mode (higher is "
                                 "better).", "%.1f"),
}


def flows_2d_section() -> None:
    st.markdown("A flow is an invertible map between the data and Gaussian noise. Because it "
                "is invertible with a cheap Jacobian, the density of every point is **exact**: "
                "log p(x) = log N(f(x); 0, I) + log |det ∂f/∂x|. Here, a neural spline flow "
                "on the GAN lab's point sets, whose true density is known.")
    items = entries()
    entry = pick_entry("Flow", items, "fl_model", default="flow-ring", kinds=(R.KIND,))
    if entry is None:
        st.info("No 2-D flow yet. Rebuild the shipped ones with `python -m unsup train "
                "flow-ring` and `python -m unsup train flow-grid`, or "
                "train one in **Train**.")
        return
    model = model_of(entry)
    if model is None:
        return
    v = flow_view(str(entry.path), entry.mtime)
    n_stages = len(v["stages"]) - 1
    c = st.columns([2, 3])
    undone = c[0].slider("Transforms applied to the base grid", 0, n_stages, n_stages,
                         key="fl_stage", help="0: the Gaussian base's grid lines as they are; "
                         "each step carries them through one more spline transform, until all "
                         f"{n_stages:d} have made the data's shape.")
    layers = c[1].pills("Show", ["density", "samples", "grid", "true points"],
                        selection_mode="multi", default=["density", "samples", "grid"],
                        key="fl_layers") or []
    left, right = st.columns([3, 2])
    with left:
        data = R.mixture_of(model)
        circles = data is not None and len(data.means) <= 30  # not the moons' 100 along arcs
        st.plotly_chart(viz.flow_figure(
            extent=v["extent"], density=v["density"] if "density" in layers else None,
            samples=v["samples"] if "samples" in layers else None,
            real=v["real"] if "true points" in layers else None,
            lattice=v["stages"][undone] if "grid" in layers else None,
            means=data.means if circles else None, sigma=data.sigma if circles else None,
            title=f"{md(entry.title)} · step {int(model.step_):,}"), key="fl_canvas")
        st.caption(f"Colour: the flow's exact log-density (nats; {viz.DEPTH:.0f} nats below the "
                   "peak and lower share the darkest colour). Orange: 1,000 samples. White "
                   "lines: a grid of the Gaussian base carried through "
                   f"{undone:d} of {n_stages:d} transforms."
                   + (" Dotted circles: each mode's 3σ." if circles else ""))
    m = card_numbers(entry)
    with right:
        if m is None:
            st.info(f"{md(entry.title)} has no held-out numbers in its card (a run stopped "
                    "before it was measured).")
            return
        st.metric("Held-out log-likelihood", f"{m['ll']:.2f} nats/point",
                  help=f"Mean log p(x) of {m.get('n_heldout', R.N_HELDOUT):,} fresh points of "
                       "the true mixture under the flow, over 3 seeds (higher is better).")
        st.metric("Gap to the true density", f"{m['gap']:.3f} nats/point",
                  help="The true density's mean log-likelihood on the same points minus the "
                       "flow's: an estimate of KL(p ‖ q) (0 = the flow is the true density; "
                       "lower is better).")
        st.caption(md(verdict(entry, m)))
    tables.show(comparison_table(entry, m), COLUMNS)
    st.caption("Numbers from the models' cards: log-likelihoods on 5,000 fresh points of the "
               "true mixture per seed; modes and high-quality share on 2,500 samples per seed, "
               "the GAN lab's protocol (a mode counts with ≥ 20 samples within 3σ); means over "
               "3 seeds. A GAN has no density, so its log-likelihood cells are empty.")


def training_form() -> None:
    job = training.current_job(PAGE)
    if job is not None and str(job.title).startswith("Glow"):
        shown = training.job_panel(PAGE, ["bpd"], y_title="bits/dim of the training batch "
                                   "(lower is better)", preview_caption="Live preview: 16 "
                                   "samples at T = 0.7.")
    else:
        shown = training.job_panel(PAGE, ["nll"], y_title="negative log-likelihood, nats/point "
                                   "(lower is better)", preview_caption="Live preview: the "
                                   "flow's density.")
    if shown:
        return
    what = st.radio("What to train", ["A 2-D flow", "Glow on images"], horizontal=True,
                    key="ft_what")
    if what == "Glow on images":
        glow_training_form()
        return
    st.write("Fit a spline flow in the background to the ring, the grid or points you type. "
             "Switch pages freely; Stop keeps the last checkpoint, which then appears in the "
             "2-D flows section's picker; Resume continues it.")
    training.resume_from_disk(PAGE, entries(), lambda path, more: R.training_spec(
        steps=int(more), resume=path))
    c = st.columns(3)
    data = c[0].selectbox("Data", ["ring", "grid", "moons", "points"], key="ft_data",
                          format_func=lambda d: R.DATA.get(d, "points I type"))
    points = None
    if data == "points":
        from unsup.ui.gan import points_from_text

        text = st.text_area("Points, one \"x, y\" per line (each becomes a Gaussian with "
                            "σ = 0.05)", "0, 0\n1, 1\n-1, 1", key="ft_points")
        try:
            points = points_from_text(text)
        except ValueError as exc:
            st.error(md(str(exc)))
            return
        if not points:
            st.info("Type at least one point.")
            return
    steps = int(c[1].number_input("Steps", 50, 100_000, 2_000, step=500, key="ft_steps"))
    with c[2]:
        cfg = dict(R.RECIPE)
        training.estimate_caption("flow2d", tuple(sorted(cfg.items())),
                                  lambda: R.estimate_step_seconds(cfg), steps)
    if st.button("Start training", type="primary", icon=":material/play_arrow:",
                 key="ft_start"):
        try:
            make = R.training_spec(data=data, points=points, steps=steps)
        except ValueError as exc:
            st.error(md(str(exc)))
            return
        if training.start(PAGE, lambda: make):
            st.rerun()


def glow_training_form() -> None:
    st.write("Train a Glow of the shipped architecture in the background, on the MNIST "
             "digits or on your own images (made 28×28; every 10th is held out to measure "
             "bits/dim). Stop keeps the last checkpoint, which then appears in the Glow "
             "sections' picker; Resume continues it, also after a restart.")
    training.resume_from_disk(PAGE, glow_entries(), lambda path, more: R.glow_training_spec(
        steps=int(more), resume=path), default=500, step=100)
    src = st.radio("Data", ["MNIST digits", "My images"], horizontal=True, key="gt_data")
    images, label = None, None
    if src == "My images":
        from unsup.data import uploads

        files = st.file_uploader("Images (PNG, JPEG, …) or a ZIP of them; at least 20",
                                 accept_multiple_files=True, key="gt_upload",
                                 max_upload_size=uploads.UPLOAD_MB, help=uploads.LIMIT_TEXT)
        if not files:
            st.caption("No images yet.")
            return
        report = uploads.read_uploads([(f.name, f.getvalue()) for f in files], size=28)
        for p in report.problems[:8]:
            st.warning(md(p))
        if not report.images:
            return
        images = report.array()
        label = f"{len(images)} uploaded images"
        st.caption(f"{len(images):d} images read, {images.shape[1]:d} channel(s), 28×28.")
    c = st.columns(2)
    steps = int(c[0].number_input("Steps", 50, 100_000, R.GLOW_JOB_STEPS, step=100,
                                  key="gt_steps", help="Batches of 64 images"))
    with c[1]:
        training.estimate_caption("glow", tuple(sorted(R.GLOW_RECIPE.items())),
                                  R.estimate_glow_step_seconds, steps)
    if st.button("Start training", type="primary", icon=":material/play_arrow:",
                 key="gt_start"):
        try:
            make = R.glow_training_spec(steps=steps, images=images, data_label=label)
        except (ValueError, checkpoints.CheckpointError) as exc:
            st.error(md(str(exc)))
            return
        except OSError as exc:  # a full disk while storing the images with the run
            from unsup.fileio import os_error_text

            st.error(md(os_error_text(exc, "your images")))
            return
        if training.start(PAGE, lambda: make):
            st.rerun()


# -- live: a flow fitted as you watch ------------------------------------------------------------
LIVE_KEY = "fv_live"
TICK_SECONDS = 0.35
TRANSFORMS = [1, 2, 4, 6, 8]
HIDDEN = [16, 32, 64, 128]
BINS = [4, 8, 16, 32]
LRS = [3e-4, 1e-3, 3e-3]


def _live_points() -> tuple[list | None, bool]:
    """(typed points, ok) for the "points" data set."""
    from unsup.ui.gan import points_from_text

    text = st.text_area("Points, one \"x, y\" per line (each becomes a Gaussian with σ = 0.05)",
                        "0, 0\n1, 1\n-1, 1", key="fv_points")
    try:
        pts = points_from_text(text)
    except ValueError as exc:
        st.error(md(str(exc)))
        return None, False
    if not pts:
        st.info("Type at least one point.")
        return None, False
    return pts, True


def get_live(data: str, points, settings: dict):
    """The session's live fit: kept while the data and settings stay; new ones start a new
    flow from step 0 (a flow's shape cannot change while it trains)."""
    sig = (data, tuple(map(tuple, points)) if points else None, tuple(sorted(settings.items())))
    live = st.session_state.get(LIVE_KEY)
    if live is None or st.session_state.get("fv_sig") != sig:
        if live is not None:
            live.pause()
            st.toast("New data or settings: a new flow starts from step 0.")
        try:
            live = R.live_fit(data, points, **settings)
        except ValueError as exc:
            st.error(f"These settings cannot be used: {md(str(exc))}")
            return None
        st.session_state[LIVE_KEY], st.session_state["fv_sig"] = live, sig
    return live


def live_section() -> None:
    st.markdown("Fit a flow as you watch: every step is one Adam step on the negative "
                "log-likelihood of 512 points. The colour is the flow's exact log-density, the "
                "orange dots its samples; beside it, the mean log-likelihood of 2,000 fresh "
                "points, with the true density's as the ceiling.")
    c = st.columns([5, 3, 3, 3, 3])
    data = c[0].selectbox("Data", ["ring", "grid", "moons", "points"], key="fv_data",
                          format_func=lambda d: R.DATA.get(d, "points I type"))
    settings = {
        "transforms": c[1].select_slider("Spline transforms", TRANSFORMS, 6, key="fv_t"),
        "hidden": c[2].select_slider("Hidden units", HIDDEN, 64, key="fv_h"),
        "bins": c[3].select_slider("Spline bins", BINS, 16, key="fv_b"),
        "lr": c[4].select_slider("Learning rate", LRS, 1e-3, key="fv_lr",
                                 format_func=lambda v: f"{v:g}"),
    }
    points = None
    if data == "points":
        points, ok = _live_points()
        if not ok:
            return
    live = get_live(data, points, settings)
    if live is None:
        return
    b = st.columns([1, 1, 1, 3])
    playing = b[0].toggle("Play", key="fv_play", help="Train continuously in the background "
                          "while the canvas redraws; off = pause.")
    if b[1].button("10 steps", key="fv_steps", disabled=playing,
                   help="Ten training steps now (Play off)."):
        live.train(10)
    if b[2].button("Reset", key="fv_reset", help="A new flow, step 0."):
        live.pause()
        st.session_state.pop(LIVE_KEY, None)
        st.rerun()
    if playing:
        live.play()
    else:
        live.pause()
    left, right = st.columns([3, 2])

    @st.fragment(run_every=TICK_SECONDS if playing else None)
    def canvas() -> None:
        if playing:
            live.play()  # the heartbeat
        snap = live.snapshot()
        if snap["error"]:
            st.error(f"{md(snap['error'])}. Press Reset or change the settings.")
        v = snap["view"]
        rate = snap["steps_per_second"]
        speed = f" · {rate:.0f} training steps/s (measured)" if rate else ""
        st.image(viz.live_frame(v["density"], v["samples"], v["extent"]),
                 caption=f"step {snap['view_step']:,}{speed}", width=440)

    @st.fragment(run_every=1.0 if playing else None)
    def numbers() -> None:
        snap = live.snapshot()
        probes = snap["probes"]
        if not probes:
            st.caption("The held-out log-likelihood appears after the first steps.")
            return
        step, last = probes[-1]
        st.metric("Held-out log-likelihood", f"{last['ll']:.2f} nats/point",
                  delta=f"{last['ll'] - last['ll_true']:.2f} vs the true density",
                  delta_color="off", help="Mean log p(x) of 2,000 fresh points of the true "
                  "mixture under the flow at step " f"{step:,d} (higher is better; the true "
                  "density's is the ceiling).")
        st.plotly_chart(viz.probe_figure([p[0] for p in probes], [p[1]["ll"] for p in probes],
                                         last["ll_true"]), key="fv_probe")

    with left:
        canvas()
    with right:
        numbers()


# -- Glow on digits ------------------------------------------------------------------------------
def glow_entries() -> list[Entry]:
    return checkpoints.list_models(R.GLOW)


@st.cache_data(max_entries=32, show_spinner=False)
def glow_sample_grid(path: str, mtime: float, temperature: float, seed: int):
    from unsup.viz.images import grid

    return grid(R.glow_samples(load_model(path, mtime), 32, temperature, seed), 8, pad=1,
                scale=2)


@st.cache_data(max_entries=2, show_spinner=False)
def held_out_digits():
    return R.glow_test_images()


def _glow_model():
    """The picked Glow (entry, model), or (None, None) after saying why."""
    items = glow_entries()
    entry = pick_entry("Glow model", items, "gw_model", default="glow-mnist", kinds=(R.GLOW,))
    if entry is None:
        st.info("No Glow yet. Train the shipped one with `python -m unsup train glow-mnist`.")
        return None, None
    model = model_of(entry)
    return (entry, model) if model is not None else (None, None)


def glow_section() -> None:
    from unsup.viz.images import labelled_row

    st.markdown("**Glow** (Kingma & Dhariwal 2018) on the digits: a multi-scale flow of "
                "actnorm, invertible 1×1 convolutions and affine couplings, trained by exact "
                "maximum likelihood on 8-bit digits (each pixel level spread by uniform noise). "
                "Bits per dimension: −log₂ p(x) divided by the 784 pixels (lower is better; "
                "8 = knowing nothing about 8-bit pixels).")
    entry, model = _glow_model()
    if model is None:
        return
    m = (entry.card or {}).get("metrics") or {}
    if "bpd" in m:
        from unsup.metrics.seeds import spread_text

        c = st.columns(3)
        c[0].metric("Held-out bits/dim", f"{m['bpd']:.3f}", help="Exact bits per pixel of the "
                    f"{m.get('n_heldout', 500):,} held-out digits, mean over "
                    f"{len(m.get('seeds', [0])):d} dequantization-noise draws (lower is better; "
                    "published on full MNIST: RealNVP ≈ 1.06, Glow ≈ 1.05).")
        c[1].metric("Readable samples", f"{100 * m['readable']:.1f}%", help="Share of "
                    f"{m.get('n_samples', 1000):,} samples at T = 0.7 the digit classifier reads "
                    "with probability ≥ 0.9 (higher is better).")
        c[2].metric("Digit classes in the samples", f"{m['classes_covered']:g} / 10",
                    help="Classes the digit classifier finds among those samples.")
        st.caption(md(spread_text(m, "bpd", "{:.3f}")) + " bits/dim over the noise draws.")
    st.markdown("**Samples at a temperature.** T scales the Gaussian the latents are drawn "
                "from: T = 1 is the model itself, lower T trades variety for cleaner digits "
                "(0.7 is Glow's own default).")
    c = st.columns(2)
    temp = c[0].slider("Temperature T", 0.0, 1.0, 0.7, 0.05, key="gw_temp")
    seed = int(c[1].number_input("Seed", 0, 10_000, 0, key="gw_seed"))
    st.image(glow_sample_grid(str(entry.path), entry.mtime, float(temp), seed),
             caption=f"32 samples at T = {temp:.2f}", output_format="PNG")
    x = held_out_digits()
    st.markdown("**Interpolation.** A straight line between two held-out digits' latents, "
                "decoded: every point on it is an image the flow can invert exactly.")
    c = st.columns(2)
    a = int(c[0].number_input("From held-out digit #", 1, len(x), 1, key="gw_a")) - 1
    b = int(c[1].number_input("To held-out digit #", 1, len(x), 3, key="gw_b")) - 1
    strip, finite = R.glow_interpolation(model, x[a:a + 1], x[b:b + 1])
    n = len(strip)
    st.image(labelled_row(list(strip[:, 0].numpy()), [
        f"{i / (n - 1):.2f}" if ok else "overflow" for i, ok in enumerate(finite.tolist())],
        scale=3), caption=f"held-out digit #{a + 1} → #{b + 1}: the fraction of the way",
        output_format="PNG")
    bad = int((~finite).sum())
    if bad:
        st.caption(f"{bad:d} of {n:d} steps decode to no finite image (shown black, \"overflow\"): "
                   "a flow is invertible in exact arithmetic, but off the data its inverse can "
                   "explode, as a coupling divides by a scale near 0 (Behrmann et al. 2021, "
                   "\"exploding inverses\"). Try other digits.")


def _image_source(prefix: str, x: "torch.Tensor",
                  choices: tuple[str, ...] = ("Held-out digit", "Upload", "Draw")):
    """A held-out digit, an upload or a drawing, as (1, 1, 28, 28) in [0, 1] with a label; or
    (None, None) with the reason shown."""
    import torch

    src = st.radio("Image", list(choices), horizontal=True, key=f"{prefix}_src")
    if src == "Held-out digit":
        i = int(st.number_input("Held-out digit #", 1, len(x), 1, key=f"{prefix}_idx")) - 1
        return x[i:i + 1], f"held-out digit #{i + 1}"
    from unsup.data import uploads
    from unsup.ui.vae import NamedBytes, image_from_upload

    if src == "Upload":
        files = st.file_uploader("An image of a digit (PNG, JPEG, …): made grey, framed like an "
                                 "MNIST digit, 28×28", key=f"{prefix}_upload",
                                 max_upload_size=uploads.UPLOAD_MB, help=uploads.LIMIT_TEXT)
        if not files:
            st.caption("No image yet.")
            return None, None
        img, problems = image_from_upload([files], 28)
        label = "your image"
    else:
        from unsup.ui.draw import draw_pad  # registers the component only when used

        png = draw_pad(f"{prefix}_draw")
        if not png:
            st.caption("Draw a digit on the pad (white on black, like MNIST).")
            return None, None
        img, problems = image_from_upload([NamedBytes("drawing.png", png)], 28)
        label = "your drawing"
    for p in problems:
        st.warning(md(p))
    if img is None:
        return None, None
    return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None], label


def analysis_of(entry: Entry) -> dict | None:
    """The entry's stored directions and out-of-distribution bits/dim, or None after offering
    the background job that computes them."""
    from unsup.recipes import glow_analysis as A
    from unsup.ui.measure import derived_job_button, job_status

    job_status(PAGE)
    found = A.stored(entry.path)
    if found is None:
        st.caption(f"Not measured yet for {md(entry.title)}: encoding its 4,500 training "
                   "digits and scoring 1,500 other images takes about half a minute.")
        derived_job_button(PAGE, "Measure (background)", f"Glow analysis of {entry.name}",
                           A.work(entry.path), key="gw_analyse")
    return found


def encode_section() -> None:
    """Encode your own image (round trip) and move it along the attribute directions."""
    from unsup.recipes import glow_analysis as A
    from unsup.viz.images import labelled_row

    st.markdown("**Encode an image, exactly.** Pick a held-out digit, upload an image or draw "
                "one: the flow maps it to its latent z and back. A VAE reconstructs an "
                "approximation; a flow's inverse is exact up to float32 rounding.")
    entry, model = _glow_model()
    if model is None:
        return
    x, label = _image_source("ge", held_out_digits())
    if x is None:
        return
    trip = R.glow_roundtrip(model, x)
    c = st.columns([2, 3], vertical_alignment="center")
    c[0].image(labelled_row([x[0, 0].numpy(), trip["back"][0, 0].clamp(0, 1).numpy()],
                            [label[:14], "back from z"], scale=4), output_format="PNG")
    why = ("float32 rounding: the flow is invertible" if trip["max_error"] <= 1e-4 else
           "an ill-conditioned coupling magnifies float32 rounding for this image; the "
           "shipped Glow's held-out digits round-trip within 1e-4 in most cases and exactly "
           "(about 1e-11) in float64")
    c[1].metric("Largest pixel error of the round trip", f"{trip['max_error']:.1e}",
                help="max |x − f⁻¹(f(x))| over the 784 pixels (0 = exact; pixels are in [0, 1])")
    c[1].caption(f"{md(why.capitalize())}. Its exact likelihood: {trip['bpd']:.2f} bits/dim "
                 "(lower = more likely under the model).")
    st.markdown("**Attribute directions** (as the Glow paper edits faces): the mean latent of "
                "the thickest quarter of the training digits minus that of the thinnest, and "
                "the same for slant — measured from the pixels, no labels. Move along them:")
    found = analysis_of(entry)
    if found is None:
        return
    reach = st.slider("How far to move (α at the ends)", 0.25, 1.5, 1.0, 0.25, key="ge_reach",
                      help="α = 1 adds the whole difference between the two quarters' mean "
                           "latents; beyond it the images leave the data and the inverse can "
                           "overflow")
    alphas = [float(v) for v in np.linspace(-reach, reach, 5)]
    for name, what in A.ATTRIBUTES.items():
        lo, hi = found["quartiles"][name]
        imgs, finite = A.move(model, x, found["directions"][name], alphas)
        measured = A.attributes(imgs)[name]
        unit = "px" if name == "thickness" else ""
        labels = [f"{a:+.2f}: {v:.2f}{unit}" if ok else f"{a:+.2f}: overflow"
                  for a, v, ok in zip(alphas, measured, finite.tolist())]
        strip = labelled_row(list(imgs[:, 0].numpy()), labels, scale=4)
        st.image(strip, width=strip.width, caption=f"Along {name}: α, then the {what.split(' (')[0]} measured on the "
                         f"decoded image (training quarters: {lo:.2f} and {hi:.2f})",
                 output_format="PNG")
        if not bool(finite.all()):
            st.caption("\"overflow\": this far from the data the flow's inverse explodes (a "
                       "coupling divides by a scale near 0); shown black.")
    st.caption("Thickness in pixels (2 · ink area / ink perimeter), slant as the x shift per "
               "unit of height (> 0 leans right), both measured from the pixels as the "
               "directions were.")


def likelihood_section() -> None:
    """Out-of-distribution likelihoods (Nalisnick et al. 2019), your image's, and the flow's
    exact bits/dim beside a VAE's bounds."""
    from unsup.recipes import glow_analysis as A

    st.markdown("**What does the likelihood say about images that are not digits?** Exact "
                "bits/dim of the held-out digits beside other images. Nalisnick et al. "
                "(2019) found that flows (and VAEs) can give images from *another* data set a "
                "**higher** likelihood than their own test set. Does ours?")
    entry, model = _glow_model()
    if model is None:
        return
    found = analysis_of(entry)
    markers = {}
    with st.expander("Score an image of your own"):
        x, label = _image_source("gl", held_out_digits(), ("Upload", "Draw", "Held-out digit"))
        if x is not None:
            markers[label] = float(model.bits_per_dim(x, noise_seed=0)[0])
    if found is not None:
        bpd = found["bpd"]
        sets = {A.SETS[k]: bpd[k] for k in ("heldout", "digits8", "noise") if k in bpd}
        blank = [v for v in bpd.get("blank", []) if v is not None]
        if blank:
            markers = {"blank image": blank[0], **markers}
        st.plotly_chart(viz.bpd_histogram(sets, markers), key="gl_hist")
        st.markdown(md(A.nalisnick_sentence(bpd)))
    elif markers:
        st.metric(md(f"Bits/dim of {label}"), f"{next(iter(markers.values())):.2f}",
                  help="Exact, lower = more likely under the model")
    bounds_table(entry)


def bounds_table(entry: Entry) -> None:
    """The flow's exact held-out bits/dim beside a VAE's ELBO and IWAE bounds (cards)."""
    st.markdown("**Exact likelihood vs bounds, on the same 500 held-out digits.** A VAE can "
                "only bound its likelihood from below (ELBO; IWAE with k samples is tighter), "
                "so its bits/dim are upper bounds; the flow's are exact.")
    m = (entry.card or {}).get("metrics") or {}
    vae = checkpoints.list_models("dlvae")
    vm = ((vae[0].card or {}).get("metrics") or {}) if vae else {}
    if "bpd" not in m or "elbo_bpd" not in vm:
        st.caption("The VAE for 8-bit digits (`python -m unsup train dlvae-mnist`) or this "
                   "Glow's numbers are not in their cards yet.")
        return
    rows = [{"model": f"Glow ({entry.name})", "what is measured": "exact −log₂ p(x), "
             "dequantized", "bits/dim": m["bpd"]},
            {"model": f"VAE ({vae[0].name})", "what is measured": "ELBO (a bound)",
             "bits/dim": vm["elbo_bpd"]},
            {"model": f"VAE ({vae[0].name})", "what is measured":
             f"IWAE bound, k = {int(vm.get('iwae_k') or 0):,}", "bits/dim": vm["iwae_bpd"]}]
    tables.show(pd.DataFrame(rows), {
        "bits/dim": tables.Col("bits/dim", help="bits per pixel of the 500 held-out digits "
                               "(lower is better; a bound's is an upper bound on the model's "
                               "true value)", format="%.3f")}, key="gl_bounds")
    st.markdown(md(R.bounds_sentence(m["bpd"], vm["elbo_bpd"], vm["iwae_bpd"],
                                     vm.get("iwae_k"))))
