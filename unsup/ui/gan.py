"""The GAN page's pieces: the live 2-D lab, the mode-collapse comparison, the image sections
(sample grid, slerp, nearest training images, digit histogram, metrics table) and the training
form. Compute lives in unsup.recipes.gan and unsup.models.gan; figures in unsup.viz.gan."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st
import torch

from unsup import checkpoints
from unsup.checkpoints import Entry
from unsup.metrics.gan import HQ_THRESHOLD, MIN_MODE_COUNT, N_MODE_SAMPLES
from unsup.metrics.seeds import spread, spread_text
from unsup.models.gan_losses import LOSS_LABELS, LOSSES
from unsup.recipes import gan as R
from unsup.recipes import labhost
from unsup.recipes.labhost import LiveLab
from unsup.train import DivergedError
from unsup.ui import tables
from unsup.ui.measure import (NOT_MEASURED, card_metrics, derived_job_button, job_status,
                              measure_controls)
from unsup.ui.models import load_model, model_of, pick_entry
from unsup.ui.text import md
from unsup.viz import gan as viz
from unsup.viz.images import grid as image_grid
from unsup.viz.images import labelled_row, strip

LAB_KEY = "gan_lab"
POINTS_KEY = "gan_points"
TICK_SECONDS = 0.15
"""How often the playing lab's canvas redraws (the lab trains in its own thread meanwhile)."""
NUMBERS_SECONDS = 1.0
"""How often the numbers beside it do (the trainer refreshes its mode statistics as often)."""
SPEED_OPTIONS = [1, 2, 5, 10, 25, 50, 100, 200, "no limit"]
"""Choices of the playing lab's speed limit (training steps a second)."""
CLICK_EXTENT = (-2.0, 2.0, -2.0, 2.0)
LR_OPTIONS = [1e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 3e-2, 0.1]
BATCH_OPTIONS = [32, 64, 128, 256, 512]
UNIT_OPTIONS = [8, 16, 32, 64, 128, 256]
LOSS_HELP = {
    "mm": "minimax: G minimises E log(1 − D(x̂)); saturates when D wins early.",
    "ns": "non-saturating: G maximises E log D(x̂) instead (Goodfellow et al. 2014).",
    "wgan": "Wasserstein critic with weight clipping (Arjovsky et al. 2017).",
    "wgan-gp": "Wasserstein critic with a gradient penalty on mixed points (Gulrajani et al. "
               "2017).",
    "ls": "least squares: targets 1 (real) and 0 (generated) (Mao et al. 2017).",
    "dragan": "GAN loss plus a gradient penalty around the real points (Kodali et al. 2017).",
    "began": "D is an autoencoder; k_t balances real and fake reconstruction (Berthelot et al. "
             "2017).",
}


# -- models -------------------------------------------------------------------------------------
IMAGE_METRICS = ("fd", "fd_ratio", "kid", "precision", "recall", "classes_covered",
                 "min_class_share", "confident_share")
"""What the image-GAN table shows of a card's metrics (a card without them is "not measured")."""
METRICS_2D = ("modes", "n_modes", "modes_any", "hq")
"""What the 2-D tables show of a card's metrics."""


def entries(kind: str | tuple[str, ...]) -> list[Entry]:
    return checkpoints.list_models(kind)  # validates these kinds only


@st.cache_data(max_entries=32, show_spinner=False)
def samples_2d(path: str, mtime: float, n: int = 1_000) -> np.ndarray:
    """Points a 2-D checkpoint draws, for its plot (its numbers come from its card)."""
    return R.samples(load_model(path, mtime), n).numpy()


@st.cache_data(max_entries=2, show_spinner=False)
def train_images(name: str) -> torch.Tensor:
    return R.image_data(name)


@st.cache_data(max_entries=2, show_spinner=False)
def test_to_train_distance(name: str) -> float:
    return R.test_to_train_distance(name)


# -- the 2-D lab ---------------------------------------------------------------------------------
def points_from_text(text: str) -> list[list[float]]:
    """Points typed as one "x, y" pair per line; ValueError naming the bad line."""
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace(";", ",").replace("\t", ",").split(",")
        if len(parts) == 1:
            parts = line.split()
        try:
            x, y = (float(p) for p in parts if p.strip())
        except ValueError:
            raise ValueError(f"Line {i} ({line!r}) is not an \"x, y\" pair of numbers; write "
                             "one point per line, e.g. 0.5, -1.") from None
        out.append([x, y])
    return out


def selected_points(event) -> list[list[float]]:
    """The (x, y) of the points a click, box or lasso selected on the click canvas."""
    try:
        pts = event["selection"]["points"]
    except (KeyError, TypeError):
        return []
    return [[round(float(p["x"]), 3), round(float(p["y"]), 3)] for p in pts
            if isinstance(p, dict) and "x" in p and "y" in p]


def lab_settings() -> dict:
    """The lab's controls (loss, optimiser, learning rate, D/G steps per step, networks,
    packing, minibatch discrimination); returns the settings they give."""
    c = st.columns(6)
    loss = c[0].selectbox("Loss", LOSSES, index=1, key="gl_loss", format_func=LOSS_LABELS.get,
                          help=" ".join(f"{LOSS_LABELS[k]}: {LOSS_HELP[k]}" for k in LOSS_HELP))
    opt = c[1].selectbox("Optimizer", ("adam", "rmsprop", "sgd"), key="gl_opt",
                         format_func={"adam": "Adam", "rmsprop": "RMSProp", "sgd": "SGD"}.get)
    lr = c[2].select_slider("Learning rate", LR_OPTIONS, 5e-4, key="gl_lr",
                            format_func=lambda v: f"{v:g}", help="Of both players.")
    d_steps = c[3].number_input("D steps", 1, 10, 1, key="gl_dsteps",
                                help="Discriminator updates per training step.")
    g_steps = c[4].number_input("G steps", 1, 10, 1, key="gl_gsteps",
                                help="Generator updates per training step, after D's.")
    batch = c[5].select_slider("Batch", BATCH_OPTIONS, 512, key="gl_batch",
                                help="Real points per step (and as many generated).")
    with st.expander("Networks, packing and minibatch discrimination (changing these restarts "
                     "training)"):
        n = st.columns(6)
        g_hidden = n[0].select_slider("G units", UNIT_OPTIONS, 128, key="gl_gh")
        g_layers = n[1].number_input("G layers", 1, 5, 3, key="gl_gl")
        d_hidden = n[2].select_slider("D units", UNIT_OPTIONS, 128, key="gl_dh")
        d_layers = n[3].number_input("D layers", 1, 5, 3, key="gl_dl")
        pack = n[4].number_input("Packing m", 1, 8, 1, key="gl_pack",
                                 help="PacGAN (Lin et al. 2018): D judges m samples at once, all "
                                      "real or all generated, so a generator that repeats "
                                      "itself is easy to spot. 1 = a plain GAN.")
        mbd = n[5].number_input("Minibatch features", 0, 32, 0, key="gl_mbd",
                                help="Minibatch discrimination (Salimans et al. 2016): D also "
                                     "sees how close each sample is to the rest of its batch "
                                     "(0 = off; not with BEGAN).")
        seed = st.number_input("Seed", 0, 10_000, 0, key="gl_seed")
    return dict(loss=loss, optimizer=opt, lr_g=float(lr), lr_d=float(lr), d_steps=int(d_steps),
                g_steps=int(g_steps), batch_size=int(batch), g_hidden=int(g_hidden),
                g_layers=int(g_layers), d_hidden=int(d_hidden), d_layers=int(d_layers),
                pack=int(pack), minibatch_features=int(mbd), seed=int(seed))


LAB_DATA = {"Ring": "ring", "Grid": "grid", "Two moons": "moons"}


def lab_data_picker():
    """Ring, grid or clicked points; returns (data key, points or None), or None (with a
    message) while the clicked points are not usable yet."""
    which = st.segmented_control("Data", list(LAB_DATA) + ["Clicked points"], default="Ring",
                                 key="gl_data") or "Ring"
    if which != "Clicked points":
        if which == "Two moons":
            st.caption("Two moons is a band, not separate blobs: its \"modes\" are the 100 "
                       "Gaussians along the two arcs, so the count says how much of the arcs "
                       "the samples reach.")
        return LAB_DATA[which], None
    pts = st.session_state.setdefault(POINTS_KEY, [])
    left, right = st.columns([3, 2])
    with left:
        fig = viz.lab_figure(extent=CLICK_EXTENT, real=np.asarray(pts) if pts else None,
                             clickable=viz.click_layer_points(CLICK_EXTENT), height=360,
                             title="Click (or box/lasso-select) to place mode centres")
        event = st.plotly_chart(fig, key="gl_click", on_select="rerun",
                                selection_mode=("points", "box", "lasso"))
        chosen = selected_points(event)
        seen = tuple(map(tuple, chosen))
        if chosen and seen != st.session_state.get("gl_last_selection"):
            # a selection stays in the chart's state across reruns: add it once
            st.session_state["gl_last_selection"] = seen
            pts.extend(p for p in chosen if p not in pts)
            st.rerun()
    with right:
        text = st.text_area("…or type points, one \"x, y\" per line", key="gl_points_text",
                            height=150, placeholder="0, 0\n1, 1\n-1, 1")
        b1, b2 = st.columns(2)
        if b1.button("Add typed points", key="gl_add_text"):
            try:
                pts.extend(points_from_text(text))
            except ValueError as exc:
                st.error(md(str(exc)))
        if b2.button("Clear points", key="gl_clear"):
            pts.clear()
            st.rerun()
        st.caption(f"{len(pts)} point(s); each becomes a Gaussian mode with σ = 0.05.")
    if not pts:
        st.info("Place at least one point to train on: click the canvas or type points.")
        return None
    return "points", [list(p) for p in pts]


def get_lab(data_key: str, points, settings: dict) -> LiveLab | None:
    """The session's lab: kept while the data stay the same, its settings applied live. It
    trains in the server's trainer process while playing (started here, in the background,
    so that Play finds it ready)."""
    labhost.host()
    sig = (data_key, tuple(map(tuple, points)) if points else None)
    lab = st.session_state.get(LAB_KEY)
    try:
        if lab is None or st.session_state.get("gl_sig") != sig:
            data = R.data_2d(data_key, points, n=20_000)
            if lab is not None:
                lab.pause()  # the old data's trainer stops
            lab = LiveLab(data, **settings)
            st.session_state[LAB_KEY], st.session_state["gl_sig"] = lab, sig
        elif lab.apply(**settings):
            st.toast("The networks changed, so training restarted from step 0.")
    except ValueError as exc:
        st.error(f"These settings cannot be used: {md(str(exc))}")
        return None
    return lab


def published_table(data_key: str, stats: dict | None) -> pd.DataFrame:
    rows = [{"source": src, "method": method, "modes": modes, "high-quality %": hq}
            for d, method, modes, hq, src in R.PUBLISHED if d == data_key]
    if stats is not None:
        rows.insert(0, {"source": "this lab (≥ 1 sample: papers' rule)",
                        "method": "", "modes": stats["modes_any"],
                        "high-quality %": round(100 * stats["hq"], 1)})
        rows.insert(0, {"source": f"this lab (≥ {MIN_MODE_COUNT} samples)",
                        "method": "", "modes": stats["modes"],
                        "high-quality %": round(100 * stats["hq"], 1)})
    return pd.DataFrame(rows)


def lab_section() -> None:
    st.markdown("Train a GAN on points in the plane and watch both players, as GAN Lab (Kahng "
                "et al. 2019) shows them. The green points are real; the purple ones are the "
                "generator's; the colour is the discriminator's verdict. Every control applies "
                "while it trains.")
    picked = lab_data_picker()
    settings = lab_settings()
    if picked is None:
        return
    lab = get_lab(*picked, settings)
    if lab is None:
        return
    c = st.columns([1, 2, 1])
    playing = c[0].toggle("Play", key="gl_play", help="Train continuously (in the background, "
                          "while the canvas redraws); off = pause.")
    limit = c[1].select_slider("Speed limit (training steps/s)", SPEED_OPTIONS, "no limit",
                               key="gl_speed", help="Slow training down to watch each move; "
                                                    "'no limit': as fast as this machine goes.")
    lab.speed_limit = None if limit == "no limit" else float(limit)
    if c[2].button("Reset", key="gl_reset", help="New networks, step 0."):
        lab.pause()
        st.session_state.pop(LAB_KEY, None)
        st.rerun()
    layers = st.pills("Layers", viz.LAYERS, selection_mode="multi", default=list(viz.LAYERS),
                      key="gl_layers", help="; ".join(f"{md(k)}: {viz.LAYER_HELP[k]}"
                                                       for k in viz.LAYER_HELP))
    if playing:
        lab.play()  # starts the lab's trainer thread; each call also tells it the page is here
    else:
        lab.pause()
    # single updates (for a paused lab): a click reruns the page, which redraws everything
    b = st.columns(3)
    note = ""
    try:
        if b[0].button("One step", key="gl_step", help="d_steps D updates, then g_steps G "
                                                      "updates.", width="stretch"):
            lab.train(1)
        if b[1].button("One D update", key="gl_dstep", width="stretch",
                       help="One discriminator update only."):
            lab.d_step()
            note = "one D update: only the heat-map moved"
        if b[2].button("One G update", key="gl_gstep", width="stretch",
                       help="One generator update only."):
            lab.g_step()
            note = "one G update: only the purple points moved"
    except DivergedError as exc:
        st.error(f"{md(str(exc))}. Press Reset or change the settings.")
    chosen = set(layers or [])
    left, right = st.columns([3, 2])

    # Two fragments: the canvas reruns every TICK_SECONDS while playing, the numbers beside it
    # (mode statistics, losses, the published table) once a second; each draws what the lab's
    # own thread trained and computed (a rerun trains and samples nothing).
    @st.fragment(run_every=TICK_SECONDS if playing else None)
    def canvas() -> None:
        if playing:
            lab.play()  # the heartbeat
        draw_canvas(lab, chosen, "" if playing else note)

    @st.fragment(run_every=NUMBERS_SECONDS if playing else None)
    def numbers() -> None:
        draw_numbers(lab)

    with left:
        canvas()
    with right:
        numbers()
    with st.expander("The seven losses (the lecture's table)"):
        st.markdown(LOSS_TABLE)


def redraw_rate(now: float, window: float = 3.0) -> float | None:
    """Redraws a second of this session's canvas over the last ``window`` seconds, measured."""
    marks = st.session_state.setdefault("gl_draw_times", [])
    marks.append(now)
    del marks[:-200]
    recent = [t for t in marks if now - t <= window]
    return (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) >= 2 else None


def frame_bytes(img) -> bytes:
    """A canvas picture as JPEG bytes (quality 90: ~5 ms, a fifth of PNG's time and size)."""
    import io

    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def draw_canvas(lab: LiveLab, layers: set[str], note: str = "") -> None:
    """The lab's canvas (a picture while playing, the interactive figure when paused), its
    counters and the measured speeds."""
    t0 = time.perf_counter()
    snap = lab.snapshot()  # one consistent reading, between two of the trainer's chunks
    v, cfg = snap["view"], snap["config"]
    arrows = (viz.arrow_segments(v["arrow_points"], v["arrow_vectors"],
                                 0.12 * (v["extent"][1] - v["extent"][0]))
              if "gradients" in layers else None)
    title = (f"step {v['step']:,} · {LOSS_LABELS[cfg.loss]}"
             + (f" · pack {cfg.pack}" if cfg.pack > 1 else ""))
    shown = dict(
        extent=v["extent"], real=v["real"] if "real" in layers else None,
        fake=v["fake"] if "generated" in layers else None,
        heat=v["heat"] if "heat-map" in layers else None, heat_label=v["heat_label"],
        heat_range=v["heat_range"], manifold=v["manifold"] if "manifold" in layers else None,
        arrows=arrows, means=lab.data.means, sigma=lab.data.sigma)
    if snap["error"]:
        st.error(f"{md(snap['error'])}. Press Reset or change the settings.")
    if snap["playing"]:
        # playing: a picture (a browser swaps it in a few ms; re-rendering the interactive
        # figure took it ~250 ms a frame and capped the redraws at ~3 a second)
        st.image(frame_bytes(viz.lab_frame(**shown, size=500)), caption=title)
    else:
        st.plotly_chart(viz.lab_figure(**shown, title=title), key="gl_canvas")
    now = time.perf_counter()
    fps = redraw_rate(now) if snap["playing"] else None
    st.caption(f"D updates {snap['d_updates']:,} · G updates {snap['g_updates']:,} · "
               f"{md(viz.speed_text(snap['steps_per_second'], fps))} (measured) · draw "
               f"{(now - t0) * 1000:.0f} ms")
    if snap["playing"]:
        st.caption(f"Green: real points · purple: generated · grey: G's image of its input "
                   f"grid · orange: G's gradient · colour: {md(v['heat_label'])} (bar on the "
                   "right). Pause to hover over the plane and zoom.")
    if note:
        st.caption(md(note))
    if lab.note:
        st.caption(md(lab.note))


def draw_numbers(lab: LiveLab) -> None:
    """Beside the canvas: the mode statistics, the last losses and the published figures."""
    snap = lab.snapshot()
    stats = snap["stats"]
    st.metric("Modes captured", f"{stats['modes']} / {stats['n_modes']}",
              help=f"Modes with at least {MIN_MODE_COUNT} of {N_MODE_SAMPLES:,} fresh "
                   f"samples within {HQ_THRESHOLD:g}σ (higher is better).")
    st.metric("High-quality samples", f"{stats['hq']:.1%}",
              help=f"Share of {N_MODE_SAMPLES:,} samples within {HQ_THRESHOLD:g}σ of a "
                   "mode (higher is better).")
    if snap["losses"]:
        st.caption(" · ".join(f"{md(k)} {v:.3g}" for k, v in snap["losses"].items()
                              if k in ("d_loss", "g_loss", "d_real", "d_fake", "gp", "k")))
    if lab.data.name in ("ring", "grid"):
        tables.show(published_table(lab.data.name, stats), PUBLISHED_COLUMNS)
        st.caption("Published figures on 2,500 samples (modes / % within 3σ), quoted from "
                   "the papers; they count a mode with a single sample. Whether a plain GAN "
                   "collapses depends on its seed and settings: PacGAN reports 6.3 ring "
                   "modes for it, VEEGAN 1.")


LOSS_TABLE = r"""
Both players minimise; D(x) = sigmoid(logit) for MM, NS and DRAGAN, a raw score otherwise.

| loss | discriminator loss L_D | generator loss L_G |
|---|---|---|
| MM GAN | −E log D(x) − E log(1 − D(x̂)) | E log(1 − D(x̂)) |
| NS GAN | −E log D(x) − E log(1 − D(x̂)) | −E log D(x̂) |
| WGAN | −E D(x) + E D(x̂), weights clipped to [−c, c] | −E D(x̂) |
| WGAN-GP | L_D^WGAN + λ E (‖∇D(αx + (1−α)x̂)‖₂ − 1)² | −E D(x̂) |
| LS GAN | E (D(x) − 1)² + E D(x̂)² | E (D(x̂) − 1)² |
| DRAGAN | L_D^GAN + λ E_{x̃ ~ p_d + N(0, c)} (‖∇D(x̃)‖₂ − 1)² | E log(1 − D(x̂)) |
| BEGAN | E ‖x − AE(x)‖₁ − k_t E ‖x̂ − AE(x̂)‖₁ | E ‖x̂ − AE(x̂)‖₁ |

From Lucic et al. 2018, "Are GANs Created Equal?", table 1, as the lecture shows it; the LS GAN
row is written as Mao et al. 2017 define it (the printed table has two sign typos there).
"""


# -- mode collapse -------------------------------------------------------------------------------
def collapse_section() -> None:
    items = {e.name: e for e in entries("gan2d")}
    shipped = [e for e in items.values() if e.source == "shipped"]
    if not shipped:
        st.info("The shipped 2-D GANs are not here yet; rebuild them with `python -m unsup "
                "train gan-ring-collapse` and `python -m unsup train gan-ring-pac2` (under a "
                "minute each), or train your own in the **Train** section.")
        if not items:
            return
    st.markdown("**Mode collapse**: the generator finds a few outputs the discriminator "
                "accepts and stops covering the rest of the data. Below, on the same ring: a "
                "plain NS GAN whose seed and settings collapse (it hops from mode to mode); "
                "the very same networks, seed and optimiser with PacGAN packing of 2 (the "
                "discriminator judges two samples at once); and the best recipe measured here. "
                "The numbers are those each model's card recorded (2,500 fresh samples); the "
                "plots show 1,000 of its points.")
    names = list(items)
    default = [n for n in ("gan-ring-collapse", "gan-ring-collapse-pac2", "gan-ring-pac2")
               if n in items] or names[:2]
    picks = st.multiselect("Models side by side", names, default=default, key="gc_pick",
                           max_selections=3, format_func=lambda n: items[n].title)
    job_status("gan")
    cols = st.columns(max(1, len(picks)))
    for col, name in zip(cols, picks):
        e = items[name]
        model = model_of(e)
        if model is None:
            continue
        s = card_metrics(e, METRICS_2D)
        counts = ((s or {}).get("extra_metrics") or {}).get("mode_counts")
        data = R.mixture_of(model)
        with col:
            st.markdown(f"**{md(e.title)}**")
            # a picture (three interactive scatter plots took a software-rendering browser
            # about a second to draw); the grey circles are the modes' 3σ
            st.image(frame_bytes(viz.lab_frame(
                extent=R.plane_extent(data.means, data.sigma),
                fake=samples_2d(str(e.path), e.mtime), means=data.means, sigma=data.sigma,
                size=340)), caption=(f"{s['modes']}/{s['n_modes']} modes · {s['hq']:.1%} high "
                                     "quality") if s else NOT_MEASURED)
            if counts:
                st.plotly_chart(viz.mode_bars(counts, [k >= MIN_MODE_COUNT for k in counts],
                                              MIN_MODE_COUNT), key=f"gc_bars_{name}")
            elif s is None:
                measure_controls("gan", [e], what="mode counts")
            cfg = e.card.get("config") or {}
            st.caption(md(f"{LOSS_LABELS.get(cfg.get('loss'), cfg.get('loss'))}, pack "
                          f"{cfg.get('pack', 1)}, batch {cfg.get('batch_size')}, lr "
                          f"{cfg.get('lr_g')}, seed {cfg.get('seed')}, {e.card.get('step'):,} "
                          f"steps. Rebuild: {e.card.get('command') or 'trained in the app'}"))
            st.button("Open in the 2-D lab", key=f"gc_open_{name}", on_click=open_in_lab,
                      args=(model, data), help="Continue this model live in the lab (a copy: "
                                               "the checkpoint is not changed).")
    st.caption(f"A mode is captured when at least {MIN_MODE_COUNT} of the 2,500 samples lie "
               f"within {HQ_THRESHOLD:g}σ of it (the papers count one). Whether a plain GAN "
               "collapses depends on the seed and settings: PacGAN's table has 6.3 ring modes for "
               "it, VEEGAN's 1. With the lab's default settings it did not collapse here (8/8 "
               "modes from 4,000 steps on, seeds 0 and 1).")


def open_in_lab(model, data) -> None:
    """Continue a 2-D model live in the lab (a copy; the checkpoint is not changed). A button
    callback: it runs before the page, so it may set the lab's widgets."""
    old = st.session_state.get(LAB_KEY)
    if old is not None:
        old.pause()
    lab = LiveLab.from_model(model, R.data_2d(data.name, data.means.tolist(), n=20_000)
                             if data.name not in R.DATA_2D else
                             R.data_2d(data.name, n=20_000))
    st.session_state[LAB_KEY] = lab
    key = data.name if data.name in R.DATA_2D else "points"
    if key == "points":
        st.session_state[POINTS_KEY] = data.means.tolist()
    st.session_state["gl_sig"] = (key, tuple(map(tuple, data.means.tolist()))
                                  if key == "points" else None)
    c = lab.config

    def near(v, options):  # the widget's closest option (a slider takes only its own values)
        return min(options, key=lambda o: abs(np.log(o) - np.log(v)))

    st.session_state.update({
        "gl_data": {v: k for k, v in LAB_DATA.items()}.get(key, "Clicked points"),
        "gl_loss": c.loss, "gl_opt": c.optimizer, "gl_lr": near(c.lr_g, LR_OPTIONS),
        "gl_dsteps": c.d_steps, "gl_gsteps": c.g_steps,
        "gl_batch": near(c.batch_size, BATCH_OPTIONS), "gl_gh": near(c.g_hidden, UNIT_OPTIONS),
        "gl_gl": c.g_layers, "gl_dh": near(c.d_hidden, UNIT_OPTIONS), "gl_dl": c.d_layers,
        "gl_pack": c.pack, "gl_mbd": c.minibatch_features, "gl_seed": c.seed, "gan_section": "2-D lab",
        "gl_play": False})


# -- image GANs ----------------------------------------------------------------------------------
def image_model_picker(key: str = "gi_model", kinds: tuple[str, ...] = R.IMAGE_KINDS,
                       label: str = "Image GAN", default: str = "dcgan-mnist-best"):
    items = entries(kinds)
    if not items:
        st.info("No image GAN yet. Rebuild the shipped one with `python -m unsup train "
                "dcgan-mnist-ns` or train one in **Train**.")
        return None, None
    entry = pick_entry(label, items, key, default=default, kinds=tuple(kinds))
    return entry, model_of(entry)


def samples_section() -> None:
    entry, model = image_model_picker()
    if model is None:
        return
    c1, c2 = st.columns([1, 1])
    seed = c1.number_input("Seed", 0, 10**6, 0, key="gi_seed",
                           help="The seed of the noise z; the same seed gives the same grid.")
    n = c2.select_slider("Samples", [16, 36, 64, 100], 64, key="gi_n")
    imgs = R.samples(model, int(n), seed=int(seed))
    cols = int(round(np.sqrt(n)))
    st.image(image_grid(imgs, cols, pad=2, scale=3), caption=f"{n} samples, seed {seed}: "
             "G(z) for z ~ N(0, I).", output_format="PNG")
    st.markdown("**Latent interpolation** (slerp between the noise of two seeds)")
    a, b = st.columns(2)
    s_a = a.number_input("From seed", 0, 10**6, 1, key="gi_sa")
    s_b = b.number_input("To seed", 0, 10**6, 2, key="gi_sb")
    st.image(strip(list(R.slerp_strip(model, int(s_a), int(s_b), 9)[:, 0].numpy()), height=84),
             caption="Spherical interpolation keeps z at the typical norm of a Gaussian code.",
             output_format="PNG")
    nearest_section(entry, model, imgs, int(seed))


def nearest_section(entry: Entry, model, imgs: torch.Tensor, seed: int) -> None:
    st.markdown("**Does it copy its training digits?** The nearest training images of a sample.")
    i = st.number_input("Sample # (in the grid above, row by row)", 1, len(imgs), 1,
                        key="gi_pick") - 1
    name = ((entry.card.get("data") or {}).get("name")) or "mnist"
    name = name if name in R.DATA_IMAGES else "mnist"
    train = train_images(name)
    if train.shape[-1] != imgs.shape[-1]:
        st.info("This model's images are not the size of its data set's; nothing to compare.")
        return
    ref = test_to_train_distance(name)
    near = R.copy_check(imgs[i], train, ref)
    st.image(labelled_row(near["row"], near["labels"], scale=3), output_format="PNG")
    st.caption(f"Pixel-space L2 distances to the {len(train):,} training digits. A held-out test "
               f"digit's nearest training digit is typically {ref:.2f} away (median); this "
               f"sample's is {near['d']:.2f}: {md(near['verdict'])}.")


# -- timelapse ----------------------------------------------------------------------------------
@st.cache_data(max_entries=8, show_spinner="Assembling the timelapse…")
def timelapse_media(path: str, mtime: float, seconds_per_frame: float
                    ) -> tuple[list[int], list, bytes]:
    """(steps, frame grids as PIL images, the animated GIF) of a checkpoint's timelapse."""
    from unsup.viz.images import animated_gif

    steps, frames = R.timelapse(load_model(path, mtime))
    if not steps:
        return [], [], b""
    cols = int(np.ceil(np.sqrt(frames.shape[1])))
    tiles = [image_grid(f, cols, pad=2, scale=3) for f in frames]
    return steps, tiles, animated_gif(tiles, seconds_per_frame)


def timelapse_section() -> None:
    st.markdown("**Training as it happened.** The same fixed noise z went through the generator "
                "every few hundred steps while it trained; the frames are saved in the "
                "checkpoint, so this is the real history, not a replay.")
    entry, model = image_model_picker(key="gl_model", default="pggan-mnist-ns")
    if model is None:
        return
    speed = st.select_slider("Seconds per frame", [0.1, 0.2, 0.35, 0.5, 1.0], 0.2,
                             key="gl_speed")
    steps, tiles, gif = timelapse_media(str(entry.path), entry.mtime, float(speed))
    if not steps:
        st.info("This model was trained without a timelapse (an older run). The shipped image "
                "GANs and every run started in **Train** keep one.")
        return
    left, right = st.columns(2)
    with left:
        st.image(gif, caption=f"{len(steps)} frames, steps 0 to {steps[-1]:,} (looping).")
        st.download_button("Download GIF", gif, file_name=f"{entry.name}-timelapse.gif",
                           mime="image/gif", icon=":material/download:", key="gl_gif")
    with right:
        i = st.slider("Frame", 0, len(steps) - 1, len(steps) - 1, key="gl_frame",
                      format="%d", help="Step through the saved frames one by one.")
        st.image(tiles[i], caption=f"Frame {i + 1} of {len(steps)}: after {steps[i]:,} "
                 "training steps.", output_format="PNG")
    if model.kind == "pggan":
        st.caption("Progressive growing: the first frames are 7×7 px images (drawn at full "
                   "size), then the 14×14 and 28×28 blocks fade in.")
    if (entry.card or {}).get("note") == R.STANDING_STATS_NOTE:
        st.caption("These frames were drawn while training, before 2026-11-29, when the "
                   "averaged generator still used the trained generator's BatchNorm statistics. "
                   "The model itself is up to date, so what it draws today can differ from "
                   "its last frame; retraining records the frames the new way.")


# -- the autoencoder frontier -------------------------------------------------------------------
def frontier_section() -> None:
    st.markdown("**The autoencoder frontier.** A VAE can encode and reconstruct but its images "
                "are blurry (it averages what it is unsure of); a GAN draws sharp digits but "
                "has no encoder. A VAE-GAN (Larsen et al. 2016) is both: a VAE whose decoder "
                "also has to fool a discriminator.")
    c = st.columns(3)
    pick = {}
    for col, (label, kinds, key) in zip(c, (("VAE", ("conv_vae",), "gf_vae"),
                                            ("GAN", ("dcgan", "pggan"), "gf_gan"),
                                            ("VAE-GAN", ("vaegan",), "gf_vaegan"))):
        with col:
            items = [e for e in entries(kinds)
                     if label != "VAE" or ((e.card.get("config") or {}).get("variational", True)
                                           and (e.card.get("config") or {}).get("image_size",
                                                                                 28) == 28)]
            if not items:
                st.info(f"No {md(label)} model yet.")
                pick[label] = None
                continue
            names = [e.name for e in items]
            default = next((i for i, n in enumerate(names)
                            if n in ("vae-mnist-16d", "dcgan-mnist-ns", "vaegan-mnist")), 0)
            name = st.selectbox(md(label), names, default, key=key,
                                format_func=lambda n, it=items, nm=names: it[nm.index(n)].label)
            pick[label] = items[names.index(name)]
    seed = st.number_input("Seed", 0, 10**6, 0, key="gf_seed",
                           help="Which test digits and which noise are shown.")
    from unsup.recipes import frontier as F

    models = {role: (model_of(e) if e is not None else None) for role, e in pick.items()}
    recon, sampled = F.strips(models, int(seed))
    a, b = st.columns(2)
    with a:
        st.markdown("Reconstructions of held-out digits")
        for lab, r in recon:
            st.image(strip(r, height=56), caption=lab, output_format="PNG")
    with b:
        st.markdown("Samples from noise z ~ N(0, I)")
        for lab, r in sampled:
            st.image(strip(r, height=56), caption=lab, output_format="PNG")
    frontier_table(pick)


def frontier_table(pick: dict[str, Entry | None]) -> None:
    """The frontier's numbers, read from disk (:mod:`unsup.recipes.frontier`): stored for the
    shipped models, computed by a background job for others; the page samples nothing."""
    from unsup.recipes import frontier as F

    job_status("gan")
    rows, missing = F.stored({k: (e.path if e else None) for k, e in pick.items()})

    def r(row, key, fmt):  # "mean ± sd" over the noise seeds where the number varies
        s = spread(row, key)
        if s is not None and s["std"] == 0:
            return fmt.format(s["mean"])
        return spread_text(row, key, fmt, seeds_word=False) or None

    unmeasured = {role for role, _ in missing}
    order = [k for k in (*F.ROLES, F.REAL) if k in rows or k in unmeasured]
    table = pd.DataFrame([
        {"model": f"{k} ({NOT_MEASURED})"} if k in unmeasured else
        {"model": k, "Fréchet (clf) of samples ↓": r(rows[k], "fd", "{:.1f}"),
         "sharpness of samples": r(rows[k], "sharpness", "{:.4f}"),
         "reconstruction L1 ↓": r(rows[k], "recon_l1", "{:.4f}"),
         "sharpness of reconstructions": r(rows[k], "recon_sharpness", "{:.4f}")}
        for k in order])
    tables.show(table, FRONTIER_COLUMNS)
    if missing:
        names = ", ".join(md(pick[role].title) for role, _ in missing)
        st.caption(f"Not measured yet: {names}. Measuring samples {F.N_SAMPLES:,} digits from "
                   "each and reads them with the digit classifier; it runs in the background "
                   "and is kept on disk.")
        derived_job_button("gan", "Measure (background)", f"Frontier of {len(missing)} "
                           "model(s)", F.work(missing), key="gf_measure")
    real = (rows.get(F.REAL) or {}).get("sharpness")
    st.caption(f"Fréchet distance in the digit classifier's feature space between "
               f"{F.N_SAMPLES:,} samples and the held-out test digits (lower is better; the real "
               "row is the floor). Sharpness: mean absolute difference between neighbouring "
               "pixels; closer to the real digits' "
               + (f"{real:.3f}" if real is not None else "value") + " is better, blur lowers "
               "it. Reconstruction L1: mean absolute pixel error on the 500 test digits (lower "
               "is better). Samples are drawn with each of "
               f"{len(F.SEEDS)} noise seeds: mean ± standard deviation over them (the "
               "reconstructions do not depend on the noise). Measured once per model file and "
               "kept on disk.")


def metrics_section() -> None:
    """Every number here is read from the models' cards (measured when they were trained, or
    later by Measure, a background job): opening the section runs no model."""
    job_status("gan")
    items = entries(R.IMAGE_KINDS)
    entry = image_entry_picker(items)
    if entry is not None:
        s = card_metrics(entry, IMAGE_METRICS)
        shares = ((s or {}).get("extra_metrics") or {}).get("digit_shares")
        if s is None:
            st.info(f"{md(entry.title)} is {NOT_MEASURED}: it was stopped before its held-out "
                    "scores were recorded. Measure it below (in the background).")
        elif shares:
            st.plotly_chart(viz.digit_histogram(shares, s["n_samples"], floor=0.04),
                            key="gm_hist")
        if s is not None:
            st.caption(f"{md(s['classes_covered'])} of 10 digits appear; the rarest is "
                       f"{s['min_class_share']:.1%} of the samples (uniform: 10%). "
                       f"{s['confident_share']:.0%} of the samples are read with at least "
                       f"{R.CONFIDENT:.0%} confidence. A collapsed generator shows a few tall "
                       "bars.")
            st.caption(md(seeds_caption(s)))
        tables.show(image_table(items), IMAGE_COLUMNS)
        ref = next((m for m in (card_metrics(e, IMAGE_METRICS) for e in items) if m), None)
        st.caption("Scores in the feature space of the project's digit classifier (its 128-unit "
                   "layer), not FID's Inception network: Fréchet distance (Heusel et al. 2017) "
                   "and KID (Bińkowski et al. 2018; here in its kernel's raw units, not the ×10³ "
                   "Inception scale papers print: the real digits score about 0), lower is "
                   "better; precision and recall "
                   "(Kynkäänniemi et al. 2019, k = 3), higher is better. Each model's first "
                   + (f"{ref['n_compared']:,} samples are compared with the "
                      f"{md(ref['n_reference'])} " if ref else "samples are compared with the ")
                   + "held-out test digits; the floor row scores the 4,500 real training digits "
                   "the same way. Every row shows the held-out scores recorded in the model's "
                   "card when it was trained (or when Measure measured it).")
        measure_controls("gan", [e for e in items if card_metrics(e, IMAGE_METRICS) is None],
                         what="held-out scores")
    st.markdown("**2-D GANs** — measured on 2,500 fresh samples for each of the card's noise "
                "seeds (the mean; high-quality % ± its sd over the seeds), as recorded in each "
                "card")
    rows = []
    items_2d = entries("gan2d")
    for e in items_2d:
        s2 = card_metrics(e, METRICS_2D)
        rows.append({"model": e.title, "data": (e.card.get("data") or {}).get("name"),
                     f"modes (≥ {MIN_MODE_COUNT})": (f"{s2['modes']}/{s2['n_modes']}" if s2
                                                     else NOT_MEASURED),
                     "modes (≥ 1)": s2["modes_any"] if s2 else None,
                     "high-quality %": (spread_text(s2, "hq", "{:.1f}", scale=100,
                                                    seeds_word=False) if s2 else None),
                     "steps": e.card.get("step")})
    for d, method, modes, hq, src in R.PUBLISHED:
        rows.append({"model": f"{method} — {src}", "data": d, f"modes (≥ {MIN_MODE_COUNT})": "",
                     "modes (≥ 1)": modes, "high-quality %": f"{hq:g}", "steps": None})
    tables.show(pd.DataFrame(rows), TWO_D_COLUMNS)
    measure_controls("gan", [e for e in items_2d if card_metrics(e, METRICS_2D) is None],
                     what="mode counts")


def image_entry_picker(items: list[Entry], key: str = "gi_model",
                       default: str = "dcgan-mnist-best") -> Entry | None:
    """The picker of :func:`image_model_picker` without loading the model (the Metrics section
    reads cards only)."""
    if not items:
        st.info("No image GAN yet. Rebuild the shipped one with `python -m unsup train "
                "dcgan-mnist-ns` or train one in **Train**.")
        return None
    return pick_entry("Image GAN", items, key, default=default)


KID_HELP = ("Kernel distance (KID, Bińkowski et al. 2018) in the digit classifier's 128 features: "
            "the unbiased MMD² with the kernel (a·b/128 + 1)³, in that kernel's raw units — not "
            "the ×10³ Inception-feature KID papers print. About 0 for real digits (the floor row; "
            "it can dip below 0); lower is better.")
IMAGE_COLUMNS = {
    "model": tables.Col(width=230),
    "loss": tables.Col(width=66),
    "Fréchet (clf)": tables.Col("Fréchet ↓", 64, "Fréchet distance of 4,500 samples to the "
                                "held-out digits in the digit classifier's features (lower is "
                                "better).", "%.1f"),
    "× floor": tables.Col("× floor ↓", 60, "Fréchet distance divided by the real training "
                          "digits' (the floor row; 1 = as close as real digits).", "%.2f"),
    "KID (clf)": tables.Col("KID (raw) ↓", 76, KID_HELP, "%.1f"),
    "precision": tables.Col("precision ↑", 74, "Share of samples inside the real digits' "
                            "k-NN balls (Kynkäänniemi et al. 2019; higher is better).", "%.3f"),
    "recall": tables.Col("recall ↑", 58, "Share of real digits inside the samples' k-NN balls "
                         "(higher is better).", "%.3f"),
    "digits covered": tables.Col("digits", 46, "Digits (of 10) the classifier reads among the "
                                 "samples."),
    "rarest digit": tables.Col("rarest", 50, "Share of the rarest digit among the samples "
                               "(uniform: 10%)."),
    "confident": tables.Col("sure", 44, "Share of samples read with at least 80% confidence."),
    "steps": tables.Col(width=52),
    "measured": tables.Col(width=96),
}
TWO_D_COLUMNS = {
    "model": tables.Col(width=330),
    "steps": tables.Col(help="Training steps of the model (— : a published row)."),
}
PUBLISHED_COLUMNS = {
    "source": tables.Col(width=190),
    "method": tables.Col(width=70),
    "modes": tables.Col(width=50),
    "high-quality %": tables.Col("HQ %", 50, "Share of samples within 3σ of a mode (higher is "
                                 "better)."),
}
FRONTIER_COLUMNS = {
    "model": tables.Col(width=230),
}


def seeds_caption(s: dict) -> str:
    """How the selected model's sampled scores vary with the noise: "mean ± sd (n seeds)" of
    each, from its card; the table shows the means."""
    n = len(s.get("seeds") or [])
    if n < 2:
        return "These scores come from one draw of noise (the card records no other seeds)."
    parts = [f"{label} {spread_text(s, key, fmt, scale=scale, unit=unit, seeds_word=False)}"
             for label, key, fmt, scale, unit in (
                 ("Fréchet", "fd", "{:.1f}", 1, ""), ("× floor", "fd_ratio", "{:.2f}", 1, ""),
                 ("KID", "kid", "{:.1f}", 1, ""), ("precision", "precision", "{:.3f}", 1, ""),
                 ("recall", "recall", "{:.3f}", 1, ""),
                 ("rarest digit", "min_class_share", "{:.1f}", 100, "%"))]
    return (f"Every sampled score is the mean over {n} noise seeds (the table shows the means); "
            f"mean ± sd for this model: " + ", ".join(parts) + ".")


def image_table(items: list[Entry], selected: str | None = None) -> pd.DataFrame:
    """One row per image model, from the held-out scores its card recorded (when it was
    trained, or measured later in the background); a model without them reads "not
    measured". Nothing is sampled here. ``selected`` is kept for callers and ignored."""
    rows = []
    floor = None
    for e in items:
        s = card_metrics(e, IMAGE_METRICS)
        cfg = e.card.get("config") or {}
        row = {"model": e.title, "loss": LOSS_LABELS.get(cfg.get("loss"), "?")}
        if s is None:
            rows.append({**row, "steps": e.card.get("step"), "measured": NOT_MEASURED})
            continue
        if floor is None and "fd_floor" in s:
            floor = s
        rows.append({**row,
                     "Fréchet (clf)": round(s["fd"], 2), "× floor": round(s["fd_ratio"], 2),
                     "KID (clf)": round(s["kid"], 4), "precision": round(s["precision"], 3),
                     "recall": round(s["recall"], 3), "digits covered": s["classes_covered"],
                     "rarest digit": f"{s['min_class_share']:.1%}",
                     "confident": f"{s['confident_share']:.0%}", "steps": e.card.get("step"),
                     "measured": ("later (Measure)" if s.get("measured_step") is not None
                                  else "when trained")})
    if floor is not None:
        rows.append({"model": "real training digits (the floor)", "loss": "",
                     "Fréchet (clf)": round(floor["fd_floor"], 2), "× floor": 1.0,
                     "KID (clf)": round(floor["kid_floor"], 4),
                     "precision": round(floor["precision_floor"], 3),
                     "recall": round(floor["recall_floor"], 3), "digits covered": 10,
                     "rarest digit": "10.0%", "confident": "", "steps": None,
                     "measured": "with each model"})
    return pd.DataFrame(rows)


# -- train on demand -----------------------------------------------------------------------------
def training_form() -> None:
    from unsup.ui import training

    if training.job_panel("gan", ["d_loss", "g_loss"], y_title="loss (each player's own)",
                          preview_caption="Live preview: samples from fixed noise."):
        return
    st.write("Train a GAN in the background: a 2-D GAN or an image GAN on digits or your own "
             "images (the time a step takes is measured below). Switch pages freely; Stop "
             "keeps the last checkpoint, which then appears in the pickers of this page.")
    training.resume_from_disk("gan", entries(R.FAMILY.kinds), lambda path, more: R.training_spec(
        steps=int(more), resume=path))
    c = st.columns(5)
    kind = c[0].selectbox("Model", ["gan2d", *R.IMAGE_KINDS], key="gt_kind",
                          format_func=R.KIND_LABELS.get)
    losses = {"vaegan": ["ns"], "pggan": [x for x in LOSSES if x != "began"]}.get(kind, LOSSES)
    loss = c[1].selectbox("Loss", losses, index=losses.index("ns"), key=f"gt_loss_{kind}",
                          format_func=LOSS_LABELS.get)
    choices = list(R.DATA_2D) + (["points"] if st.session_state.get(POINTS_KEY) else []) \
        if kind == "gan2d" else [*R.DATA_IMAGES, "upload"]
    data = c[2].selectbox("Data", choices, key=f"gt_data_{kind}",
                          format_func=lambda k: R.DATA.get(k) or (
                              "your clicked points" if k == "points" else "my images (files "
                              "or a ZIP)"))
    steps = c[3].number_input("Steps", 100, 200_000, 5_000 if kind == "gan2d" else 3_000,
                              step=500, key=f"gt_steps_{kind}")
    if kind == "gan2d":
        extra = {"pack": int(c[4].number_input("Packing m", 1, 8, 2, key="gt_pack"))}
    else:
        extra = {"width": int(c[4].select_slider("Width", [8, 16, 32, 64], 16, key="gt_width"))}
    images, label = None, None
    if data == "upload":
        images, label = upload_images()
        if images is None:
            return
    cfg = R.job_config(kind, loss, data if data != "upload" else "mnist", **extra)
    if images is not None:
        cfg.update(image_size=int(images.shape[-1]), n_channels=int(images.shape[1]))
    timed_data = data if data != "upload" else "mnist"
    training.estimate_caption(f"gan-{kind}-{timed_data}", tuple(sorted(cfg.items())),
                              lambda: R.estimate_step_seconds(kind, timed_data, dict(cfg)),
                              int(steps))
    if st.button("Start training", type="primary", icon=":material/play_arrow:",
                 key="gt_start"):
        if training.start("gan", lambda: R.training_spec(
                kind=kind, loss=loss, steps=int(steps), data=data,
                points=st.session_state.get(POINTS_KEY), images=images, data_label=label,
                **extra)):
            st.rerun()


def upload_images() -> tuple[np.ndarray | None, str | None]:
    """The user's images for an image GAN (files or ZIPs), decoded once per upload; problems
    are listed in the page. Returns (images (n, c, s, s) in [0, 1], a label) or (None, None)."""
    from unsup.data import uploads
    from unsup.data.uploads import read_uploads

    c1, c2 = st.columns(2)
    size = c1.radio("Train at", list(R.UPLOAD_SIZES), horizontal=True, key="gt_up_size",
                    format_func=lambda s: f"{s}×{s} px")
    colour = c2.radio("Colours", ["grey", "colour"], horizontal=True, key="gt_up_colour")
    files = st.file_uploader("Images (PNG, JPEG, …) or ZIPs of images", key="gt_files",
                             accept_multiple_files=True, max_upload_size=uploads.UPLOAD_MB,
                             help=uploads.LIMIT_TEXT)
    st.caption(f"Limit: {uploads.LIMIT_TEXT}. Every 10th image is held out to measure the "
               "model; at least 10 readable images are needed (hundreds work far better).")
    if not files:
        st.info("Upload images (or a ZIP of them) to train on them.")
        return None, None
    ch = 1 if colour == "grey" else 3
    ident = (tuple((f.file_id, f.name) for f in files), int(size), ch)
    if st.session_state.get("gt_ident") != ident:  # decode each upload once, not per rerun
        report = read_uploads([(f.name, f.getvalue()) for f in files], size=int(size),
                              n_channels=ch, invert="no")  # as given: a GAN copies its data
        st.session_state["gt_ident"], st.session_state["gt_report"] = ident, report
        st.session_state["gt_images"] = report.array() if report.images else None
    report = st.session_state["gt_report"]
    st.caption(md(report.summary()))
    for p in report.problems[:20]:
        st.warning(md(p))
    images = st.session_state.get("gt_images")
    if images is None or len(images) < 10:
        st.info("At least 10 readable images are needed to train a GAN on them.")
        return None, None
    st.image(image_grid(images[:32], 16, scale=2), caption=f"first images, as the model will "
             f"see them ({size}×{size}, {colour})", output_format="PNG")
    return images, f"{len(images)} uploaded images"
