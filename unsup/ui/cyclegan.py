"""The CycleGAN page's pieces: translate one image, a held-out grid, label flips, the training
timelapse, the metrics table and the training form. Compute lives in unsup.recipes.cyclegan
and unsup.metrics.cyclegan; pictures and charts in unsup.viz.cyclegan."""

from __future__ import annotations

import numpy as np
import streamlit as st

from unsup import checkpoints
from unsup.checkpoints import CheckpointError, Entry
from unsup.data import uploads
from unsup.data.uploads import read_uploads
from unsup.metrics.cyclegan import mean_l1
from unsup.recipes import cyclegan as R
from unsup.ui import tables
from unsup.ui.measure import NOT_MEASURED, card_metrics, job_status, measure_controls
from unsup.ui.models import load_model, model_of, pick_entry
from unsup.ui.text import code, join, md, safe
from unsup.viz import cyclegan as viz
from unsup.viz.images import grid as image_grid

SHIPPED = ("cyclegan-digits", "cyclegan-photo")
"""The shipped CycleGANs the page opens on."""
GAIN = f"x{viz.RESIDUAL_GAIN:g}"  # ASCII: the picture font has no "×"


# -- models -------------------------------------------------------------------------------------
def entries() -> list[Entry]:
    return checkpoints.list_models("cyclegan")


def missing_commands() -> list[str]:
    """CLI commands of the presets whose checkpoints are not shipped yet (classifiers first)."""
    shipped = {e.name for e in checkpoints.list_models() if e.source == "shipped"}
    return [f"python -m unsup train {p.name}" for p in R.PRESETS if p.name not in shipped]


def not_shipped_note() -> None:
    cmds = missing_commands()
    if cmds:
        st.info("Not shipped yet (they will be before release): make them with "
                + "; then ".join(code(c) for c in cmds)
                + ". Or train your own in **Train**.")


def model_picker():
    """The page's CycleGAN (shipped first, then the user's runs); (entry, model) or (None,
    None) after saying how to get one."""
    items = entries()
    if not items:
        cmds = [f"python -m unsup train {n}" for n in SHIPPED]
        st.info("No CycleGAN yet. Make the shipped ones with "
                + " and ".join(code(c) for c in cmds)
                + ", or train one in **Train**.")
        return None, None
    entry = pick_entry("CycleGAN", items, "cg_model", kinds=("cyclegan",))
    return entry, model_of(entry)


@st.cache_resource(max_entries=8, show_spinner="Loading the held-out images…")
def pair_of(path: str, mtime: float):
    """The domain pair of a model (its held-out images are what the page shows)."""
    return R.heldout_pair(load_model(path, mtime))


def heldout(entry: Entry):
    try:
        return pair_of(str(entry.path), entry.mtime)
    except CheckpointError as exc:
        st.error(md(str(exc)))
        return None


CARD_METRICS = ("cycle_l1_a", "cycle_l1_b", "cycle_l1_untrained_a", "cycle_l1_untrained_b",
                "identity_l1_a", "identity_l1_b")
"""What every CycleGAN card records (a card without them: "not measured")."""
FLIP_METRICS = ("label_kept_ab", "label_kept_ba", "label_kept_ab_input", "label_kept_ba_input",
                "label_kept_ab_truth", "label_kept_ba_truth")


def stats_of(entry: Entry, need: tuple[str, ...] = ()) -> dict | None:
    """The held-out metrics recorded in ``entry``'s card (by the command or job that trained
    it, or later by Measure); None if it has none (or lacks one of ``need``). Nothing is
    measured on the page's thread."""
    return card_metrics(entry, CARD_METRICS + tuple(need))


def direction_labels(model) -> dict[str, str]:
    a, b = R.domain_labels(model)
    return {"a": f"A → B ({a} → {b})", "b": f"B → A ({b} → {a})"}


# -- translate ----------------------------------------------------------------------------------
def uploaded_image(upload, size: int) -> np.ndarray | None:
    """One uploaded image as (3, size, size) in [0, 1], or None after saying why not."""
    report = read_uploads([(upload.name, upload.getvalue())], size=size, n_channels=3)
    for p in report.problems[:5]:
        st.error(md(p))
    if not report.images:
        if not report.problems:
            st.error("That file held no image; upload a PNG, JPEG, BMP, GIF, WebP or TIFF.")
        return None
    if len(report.images) > 1:
        st.caption(f"{len(report.images)} images read; translating the first.")
    return report.array()[0]


def translate_section() -> None:
    entry, model = model_picker()
    if model is None:
        return
    pair = heldout(entry)
    if pair is None:
        return
    labels = direction_labels(model)
    c1, c2 = st.columns(2)
    source = c1.radio("Direction", ["a", "b"], format_func=labels.get, key="cg_dir",
                      horizontal=True)
    where = c2.radio("Image", ["held-out", "upload"], key="cg_src", horizontal=True,
                     format_func={"held-out": "a held-out image",
                                  "upload": "my own image"}.get)
    pool = pair.a_test if source == "a" else pair.b_test
    index = None
    if where == "held-out":
        i = st.number_input(f"Held-out image # (of {len(pool)}, never trained on)", 1,
                            len(pool), 1, key="cg_idx") - 1
        index = int(R.display_order(len(pool), None if pair.name == "digits" else pool)[int(i)])
        x = pool[index]
    else:
        up = st.file_uploader("An image (it is letterboxed to a square and resized to "
                              f"{md(model.config.image_size)} px)", key="cg_upload",
                              max_upload_size=uploads.UPLOAD_MB, help=uploads.LIMIT_TEXT)
        if up is None:
            st.info("Upload a picture to translate it (PNG, JPEG, …), or pick a held-out one.")
            return
        x = uploaded_image(up, model.config.image_size)
        if x is None:
            return
    out = R.translate_all(model, x[None], source)
    x0, fake, rec, idt = (out[k][0] for k in ("input", "translation", "cycle", "identity"))
    row = [x0, fake, viz.residual(x0, fake), rec, viz.residual(x0, rec), idt,
           viz.residual(x0, idt)]
    g, f = ("G_AB", "G_BA") if source == "a" else ("G_BA", "G_AB")
    caps = ["input", f"{g}(x)", f"change {GAIN}", f"{f}({g}(x))", f"error {GAIN}",
            f"{f}(x)", f"change {GAIN}"]
    st.image(viz.labelled_grid([row], caps, scale=5), output_format="PNG",
             caption=f"Translation {g}(x), cycle reconstruction {f}({g}(x)) and identity "
                     f"mapping {f}(x) (the generator into x's own domain), each beside its "
                     f"residual: white = the pixel changed by half the value range or more.")
    m = st.columns(3)
    m[0].metric("Translation change, mean |G(x) − x|", f"{mean_l1(fake, x0):.3f}",
                help="mean |G(x) − x| over pixels and channels in [0, 1]: how much the "
                     "translation changed the image (neither better nor worse by itself; near "
                     "0 means the generator copies its input).")
    m[1].metric("Cycle error (lower is better)", f"{mean_l1(rec, x0):.3f}",
                help="mean |F(G(x)) − x|: how well the way back recovers the input (lower is "
                     f"better; the page's bound for held-out sets is {R.CYCLE_L1_BOUND:g}).")
    m[2].metric("Identity change (lower is better)", f"{mean_l1(idt, x0):.3f}",
                help="mean |F(x) − x| for the generator that maps into x's own domain: an "
                     "image already there should pass unchanged (lower is better; the "
                     "identity loss keeps colours from being inverted).")
    read_labels(source, x0, fake, pair, index)


def read_labels(source: str, x0, fake, pair, i: int | None) -> None:
    """What the domain classifiers read in the input and its translation (digit pair)."""
    if pair.name != "digits":
        return
    target = "b" if source == "a" else "a"
    got = R.predict_labels(fake[None], target)
    if got is None:
        return
    truth = None
    if i is not None:  # a held-out image: its true digit is known
        y = pair.y_a_test if source == "a" else pair.y_b_test
        truth = int(y[i])
    shown = R.predict_labels(x0[None], source)
    bits = [safe("the domain-{} classifier reads the translation as **{}**", target.upper(),
                 int(got[0]))]
    if truth is not None:
        bits.append(safe("the true digit is **{}** {}", truth, safe(
            "(label kept)" if truth == int(got[0]) else "(**label flipped**)")))
    elif shown is not None:
        bits.append(safe("the domain-{} classifier reads the input as **{}**", source.upper(),
                         int(shown[0])))
    st.caption(join("; ", bits) + ".")


# -- grid ---------------------------------------------------------------------------------------
def grid_section() -> None:
    entry, model = model_picker()
    if model is None:
        return
    pair = heldout(entry)
    if pair is None:
        return
    a_name, b_name = R.domain_labels(model)
    c1, c2 = st.columns(2)
    n = c1.select_slider("Images per row", [4, 8, 12, 16], 8, key="cg_grid_n")
    most = max(0, min(len(pair.a_test), len(pair.b_test)) - int(n))
    start = c2.number_input("First held-out image #", 1, most + 1, 1, key="cg_grid_start") - 1
    m = min(len(pair.a_test), len(pair.b_test))
    if pair.name == "digits":
        ka = kb = R.display_order(m)[int(start):int(start) + int(n)]
    else:  # each domain in its own order, the more varied half first
        ka = R.display_order(m, pair.a_test)[int(start):int(start) + int(n)]
        kb = R.display_order(m, pair.b_test)[int(start):int(start) + int(n)]
    a, b = pair.a_test[ka], pair.b_test[kb]
    fake_b = R.translate_all(model, a, "a")["translation"]
    fake_a = R.translate_all(model, b, "b")["translation"]
    rows_ab, names_ab = [a, fake_b], [f"A: {a_name}", "G_AB(A)"]
    rows_ba, names_ba = [b, fake_a], [f"B: {b_name}", "G_BA(B)"]
    if pair.b_of_a_test is not None:
        rows_ab.append(pair.b_of_a_test[ka])
        names_ab.append("true B(A)")
        rows_ba.append(pair.a_of_b_test[kb])
        names_ba.append("true source")
    for title, rows, names in (("A → B", rows_ab, names_ab), ("B → A", rows_ba, names_ba)):
        st.markdown(f"**{md(title)}**")
        st.image(viz.labelled_grid(rows, row_labels=names, scale=3), output_format="PNG")
    if pair.b_of_a_test is not None:
        st.caption(
            f"Error against the paired truth on these {len(a)} images, mean |G(x) − truth| "
            f"(lower is better): A → B {mean_l1(fake_b, pair.b_of_a_test[ka]):.3f} vs "
            f"{mean_l1(a, pair.b_of_a_test[ka]):.3f} for returning the input unchanged (the "
            f"identity baseline); B → A {mean_l1(fake_a, pair.a_of_b_test[kb]):.3f} vs "
            f"{mean_l1(b, pair.a_of_b_test[kb]):.3f}. The truth is built by the project for "
            "evaluation only; training never sees it. A background or a snow fleck cannot be "
            "guessed from the other domain, so no translator reaches 0.")
    else:
        st.caption("Your own image sets have no paired truth: judge the translations by eye, "
                   "and by the cycle error in **Metrics**.")


# -- label flips --------------------------------------------------------------------------------
def flips_section() -> None:
    entry, model = model_picker()
    if model is None:
        return
    pair = heldout(entry)
    if pair is None:
        return
    if pair.name != "digits":
        st.info("Label flips are measured on the digit pair (MNIST ↔ MNIST-M), whose images "
                "have labels; pick a digit model. Photos have no label to keep.")
        return
    missing = R.missing_classifiers()
    if missing:
        st.info("The domain classifiers that read translated digits are not shipped yet: make "
                "them with " + " and ".join(code(c) for c in missing) + ".")
        return
    job_status("cyclegan")
    s = stats_of(entry, FLIP_METRICS)
    if s is None or "flips_ab" not in (s.get("extra_metrics") or {}):
        st.info(f"The label flips of {md(entry.title)} are {NOT_MEASURED}: its card records no "
                "reading of its translations by the digit classifiers (a run stopped before "
                "it finished, or one trained before they shipped).")
        measure_controls("cyclegan", [entry], what="label flips")
        return
    st.markdown("A translation should change the style, not the digit. A classifier trained on "
                "the *target* domain reads every translated held-out digit; a **label flip** is "
                "a digit it reads as another number (the FCN-score idea of Zhu et al. 2017, with "
                "the project's own classifiers).")
    m = st.columns(2)
    for col, d, n in ((m[0], "ab", s["n_a"]), (m[1], "ba", s["n_b"])):
        way = "A → B" if d == "ab" else "B → A"
        col.metric(f"Label kept {way}", f"{s[f'label_kept_{d}']:.1%}",
                   help=f"Share of {md(n)} held-out digits whose translation the target domain's "
                        "classifier reads as the source digit (higher is better; target "
                        f"{R.LABEL_KEPT_TARGET:.0%}). The untranslated input scores "
                        f"{s[f'label_kept_{d}_input']:.1%}; the paired truth "
                        f"{s[f'label_kept_{d}_truth']:.1%} (the classifier's ceiling).")
    extra = s.get("extra_metrics") or {}
    for d, src, y, title in (("ab", pair.a_test, pair.y_a_test, "A → B"),
                             ("ba", pair.b_test, pair.y_b_test, "B → A")):
        flips = extra.get(f"flips_{d}", [])
        pred = extra.get(f"predicted_{d}", [])
        st.markdown(f"**{md(title)}: {len(flips)} of {len(src)} held-out digits flipped**")
        if not flips:
            st.caption("No flips in this direction.")
            continue
        shown = flips[:12]
        fake = R.translate_all(model, src[shown], d[0])["translation"]
        st.image(viz.labelled_grid(
            [list(src[shown]), list(fake)],
            [[f"is {int(y[i])}" for i in shown], [f"read {int(pred[i])}" for i in shown]],
            row_labels=["source", "translation"], scale=3), output_format="PNG",
            caption=f"The first {len(shown)} flips: each source digit above its translation, "
                    "with the label the target classifier reads.")
    st.plotly_chart(viz.label_kept_bars(
        [(md_plain(entry.title), s["label_kept_ab"], s["label_kept_ba"]),
         ("untranslated input", s["label_kept_ab_input"], s["label_kept_ba_input"]),
         ("paired truth (ceiling)", s["label_kept_ab_truth"], s["label_kept_ba_truth"])],
        R.LABEL_KEPT_TARGET), key="cg_flip_bars")


def md_plain(text: str, limit: int = 40) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


# -- timelapse ----------------------------------------------------------------------------------
def timelapse_section() -> None:
    entry, model = model_picker()
    if model is None:
        return
    steps, frames = model.timelapse_frames()
    if not steps:
        st.info("This model kept no timelapse (it was trained with timelapse_frames = 0). "
                "Models trained by the CLI presets and in **Train** keep one.")
        return
    a, b = (t.numpy() for t in model.timelapse_sources())
    frames = frames.numpy()
    st.markdown(f"The same held-out images, translated at {len(steps)} moments of training "
                f"(steps {steps[0]:,} to {steps[-1]:,}); the checkpoint carries them.")
    for title, src, d in (("A → B", a, 0), ("B → A", b, 1)):
        st.markdown(f"**{md(title)}**")
        st.image(viz.timelapse_image(steps, frames[:, d], src, scale=2), output_format="PNG")
    pick = st.select_slider("Step", steps, steps[-1], key="cg_tl_step",
                            format_func=lambda s: f"{s:,}")
    t = steps.index(pick)
    st.image(viz.labelled_grid([list(a), list(frames[t, 0]), list(b), list(frames[t, 1])],
                               row_labels=["A", f"G_AB at {pick:,}", "B", f"G_BA at {pick:,}"],
                               scale=4), output_format="PNG")
    gap = float(np.abs(frames[t, 0] - a).mean())
    st.caption(f"At step {pick:,} the A → B translations differ from their sources by "
               f"{gap:.3f} on average (mean |G_AB(a) − a|; near 0 would be a generator that "
               "copies its input). Watch for checkerboard artefacts, inverted colours and "
               "digits that change identity.")


# -- metrics ------------------------------------------------------------------------------------
def _pct(v) -> float | None:
    return None if v is None else round(100.0 * float(v), 1)


def _r(v) -> float | None:
    return None if v is None else round(float(v), 3)


LABEL_TABLE = ("model", "pair", "steps", "label kept A→B %", "label kept B→A %", "meets the bars")
"""Columns of the first table (what the translation keeps; the joint measure's columns too)."""
METRIC_COLUMNS = {
    "model": tables.Col(width=250),
    "pair": tables.Col(width=90),
    "steps": tables.Col(width=55),
    "label kept A→B %": tables.Col("kept A→B %", 75, "Share of translated digits the target "
                                   "domain's classifier reads as the source digit (higher is "
                                   "better)."),
    "label kept B→A %": tables.Col("kept B→A %", 75, "The same, B → A."),
    "meets the bars": tables.Col("meets bars", 75, "Label kept ≥ the target both ways and cycle "
                                 "L1 under its bound both ways."),
    "cycle L1 A": tables.Col("cycle A ↓", 64, "Mean |F(G(a)) − a| (lower is better)."),
    "cycle L1 B": tables.Col("cycle B ↓", 64, "Mean |G(F(b)) − b| (lower is better)."),
    "untrained cycle L1 A / B": tables.Col("untrained A / B", 100, "The cycle error of a fresh "
                                           "model of the same config."),
    "paired error A→B": tables.Col("error A→B ↓", 80, "Mean |G(x) − truth| against the paired "
                                   "truth (lower is better)."),
    "identity baseline A→B": tables.Col("do-nothing A→B", 100, "The error of returning the "
                                        "input unchanged: a useful translation beats it."),
    "paired error B→A": tables.Col("error B→A ↓", 80, "The same, B → A."),
    "identity baseline B→A": tables.Col("do-nothing B→A", 100, "The same, B → A."),
    "identity L1 A / B": tables.Col("identity A / B ↓", 100, "How much a generator changes an "
                                    "image already in its output domain (lower is better)."),
}


def show_metrics_tables(table) -> None:
    """The metrics as two tables that fit the page's width: what the translation keeps (label
    kept, the joint measure, the bars), then the pixel errors of the measured models."""
    first = [c for c in table.columns if c in LABEL_TABLE or "judged" in c]
    second = ["model"] + [c for c in table.columns if c not in first]
    config = {**METRIC_COLUMNS, **{c: tables.Col(c.replace("right digit & ", "right & "), 135)
                                   for c in table.columns if "judged" in c}}
    tables.show(table[first], config, key="cg_metrics_labels")
    errors = table[second]
    errors = errors[(errors.drop(columns="model") != "—").any(axis=1)]
    if len(errors.columns) > 1 and len(errors):
        st.markdown("**Pixel errors** (held-out images; lower is better)")
        tables.show(errors, {**config, "model": tables.Col(width=200)}, key="cg_metrics_errors")


JOINT_COLUMNS = {"ab": "right digit & judged B, A→B %", "ba": "right digit & judged A, B→A %"}


def joint_cells(s: dict, suffix: str = "") -> dict:
    """The joint measure of a digit card (seed-0 instruments, with the min–max over the
    instrument seeds when the card has them); nothing for a card without it."""
    out = {}
    for d, col in JOINT_COLUMNS.items():
        v = s.get(f"joint_{d}{suffix}")
        if v is None:
            continue
        per = (s.get("per_instrument") or {}).get(f"joint_{d}{suffix}") or []
        out[col] = (f"{100 * v:.1f} ({100 * min(per):.1f}–{100 * max(per):.1f})"
                    if len(per) > 1 else _pct(v))
    return out


def metrics_rows(items: list[Entry]) -> tuple[list[dict], dict | None]:
    rows, ref = [], None
    for e in items:
        s = stats_of(e)
        if s is None:
            rows.append({"model": e.title, "steps": e.card.get("step"),
                         "meets the bars": NOT_MEASURED})
            continue
        if s.get("pair") == "digits" and "label_kept_ab" in s:
            ref = s
        ok = (s["cycle_l1_a"] < R.CYCLE_L1_BOUND and s["cycle_l1_b"] < R.CYCLE_L1_BOUND
              and all(s.get(k, 1.0) >= R.LABEL_KEPT_TARGET
                      for k in ("label_kept_ab", "label_kept_ba")))
        rows.append({
            "model": e.title, "pair": s.get("pair"), "steps": e.card.get("step"),
            "label kept A→B %": _pct(s.get("label_kept_ab")),
            "label kept B→A %": _pct(s.get("label_kept_ba")),
            **joint_cells(s),
            "cycle L1 A": _r(s["cycle_l1_a"]), "cycle L1 B": _r(s["cycle_l1_b"]),
            "untrained cycle L1 A / B": f"{s['cycle_l1_untrained_a']:.3f} / "
                                        f"{s['cycle_l1_untrained_b']:.3f}",
            "paired error A→B": _r(s.get("paired_error_ab")),
            "identity baseline A→B": _r(s.get("identity_baseline_ab")),
            "paired error B→A": _r(s.get("paired_error_ba")),
            "identity baseline B→A": _r(s.get("identity_baseline_ba")),
            "identity L1 A / B": f"{s['identity_l1_a']:.3f} / {s['identity_l1_b']:.3f}",
            "meets the bars": "yes" if ok else "no"})
    return rows, ref


def metrics_section() -> None:
    items = entries()
    not_shipped_note()
    job_status("cyclegan")
    if not items:
        st.info("No CycleGAN to measure yet; the table below holds the published anchors.")
    rows, ref = metrics_rows(items)
    if ref is not None:
        rows.append({"model": "untranslated input (do nothing)", "pair": "digits",
                     "label kept A→B %": _pct(ref["label_kept_ab_input"]),
                     "label kept B→A %": _pct(ref["label_kept_ba_input"]),
                     **joint_cells(ref, "_input"),
                     "cycle L1 A": 0.0, "cycle L1 B": 0.0,
                     "paired error A→B": _r(ref["identity_baseline_ab"]),
                     "paired error B→A": _r(ref["identity_baseline_ba"])})
        rows.append({"model": "paired truth (a perfect translator)", "pair": "digits",
                     "label kept A→B %": _pct(ref["label_kept_ab_truth"]),
                     "label kept B→A %": _pct(ref["label_kept_ba_truth"]),
                     **joint_cells(ref, "_truth"),
                     "paired error A→B": 0.0, "paired error B→A": 0.0})
    for method, task, acc, src in R.PUBLISHED:
        rows.append({"model": f"{method} — {src}", "pair": task, "label kept A→B %": acc})
    import pandas as pd  # here: the Translate section, the first one shown, needs none

    def cell(v):  # one text per cell: "—" where a measure does not apply (not "None")
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "—"
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return f"{int(v):,}"
        return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)

    table = pd.DataFrame(rows)
    show_metrics_tables(table.astype(object).map(cell))
    st.caption(
        f"All measured on held-out images, as recorded in each model's card when it was "
        f"trained (or measured later with Measure). **Label kept** (higher is better, target "
        f"{R.LABEL_KEPT_TARGET:.0%} both ways): share of translated digits the target domain's "
        "classifier reads as the source digit. **Cycle L1** (lower is better, bound "
        f"{R.CYCLE_L1_BOUND:g}): mean |F(G(x)) − x| over pixels in [0, 1]; the untrained "
        "column is the same measure of a fresh model of the same config. **Paired error** "
        "(lower is better): mean |G(x) − truth| against the paired truth the project builds for "
        "evaluation; the **identity baseline** is the error of returning the input unchanged — "
        "a useful translation beats it. **Identity L1** (lower is better): how much a generator "
        "changes an image already in its output domain. **Right digit & judged B** (higher is "
        "better): label kept is passed by doing nothing (the untranslated digit is still read "
        "right), so this asks for both: the share of translations read as the source digit "
        "*and* judged to be in the target domain by an A-vs-B classifier trained on real images "
        "of both; in brackets the range over three independently trained sets of classifiers. "
        "The published rows are other papers' "
        "digits, classifiers and sizes: anchors, not a leaderboard.")
    def share(v):
        return None if v is None else v / 100.0

    bars = [(md_plain(r["model"]), share(r.get("label kept A→B %")),
             share(r.get("label kept B→A %")))
            for r in rows if r.get("label kept A→B %") is not None]
    if bars:
        st.plotly_chart(viz.label_kept_bars(bars, R.LABEL_KEPT_TARGET), key="cg_metric_bars")
    measure_controls("cyclegan", [e for e in items if stats_of(e) is None])


# -- train on demand ----------------------------------------------------------------------------
def read_domain(key: str, size: int) -> np.ndarray | None:
    """The images of one domain's upload (decoded once per upload), with its problems shown."""
    files = st.session_state.get(key) or []
    if not files:
        return None
    ident = (tuple((f.file_id, f.name) for f in files), size)
    cache = st.session_state.setdefault("cg_tr_decoded", {})
    if cache.get(key, (None,))[0] != ident:
        report = read_uploads([(f.name, f.getvalue()) for f in files], size=size, n_channels=3)
        cache[key] = (ident, report)
    report = cache[key][1]
    st.caption(md(report.summary()))
    for p in report.problems[:20]:
        st.warning(md(p))
    if not report.images:
        return None
    x = report.array()
    st.image(image_grid(x[:16], 16, pad=1, scale=2), output_format="PNG",
             caption=f"first images, as the model will see them ({size}×{size}, RGB)")
    return x


def training_form() -> None:
    from unsup.ui import training

    if training.job_panel("cyclegan", ["cycle", "gan_ab", "gan_ba", "d_a", "d_b"],
                          y_title="loss terms as weighted in L_G and L_D",
                          preview_caption="Live preview: fixed held-out images — rows A, "
                                          "G_AB(A), B, G_BA(B)."):
        return
    st.write("Train a CycleGAN in the background on a built-in pair or on two sets of your own "
             "images (no pairs needed: any pictures of domain A and any of domain B). Switch "
             "pages freely; Stop keeps the last checkpoint, which then appears in the pickers.")
    training.resume_from_disk("cyclegan", entries(), lambda path, more: R.training_spec(
        steps=int(more), resume=path))
    src = st.radio("Data", ["digits", "photos", "upload"], key="cg_tr_src", horizontal=True,
                   format_func=lambda k: R.DATA.get(k, "my two image sets (ZIPs or images)"))
    images_a = images_b = None
    names = None
    size = 32
    if src == "upload":
        size = st.select_slider("Image size", list(R.SIZES), 32, key="cg_tr_size",
                                help="A 64 px step costs several times a 32 px one: the "
                                     "estimate below is measured for the size chosen.")
        st.caption(f"Each upload: {md(uploads.LIMIT_TEXT)}. Every 10th image of each set is held "
                   f"out to measure the model; at least {R.MIN_UPLOAD_IMAGES} images a set.")
        ca, cb = st.columns(2)
        with ca:
            name_a = st.text_input("Domain A is…", "domain A", key="cg_tr_name_a", max_chars=40)
            st.file_uploader("Images of domain A (a ZIP or image files)", key="cg_tr_a",
                             accept_multiple_files=True, max_upload_size=uploads.UPLOAD_MB,
                             help=uploads.LIMIT_TEXT)
            images_a = read_domain("cg_tr_a", size)
        with cb:
            name_b = st.text_input("Domain B is…", "domain B", key="cg_tr_name_b", max_chars=40)
            st.file_uploader("Images of domain B (a ZIP or image files)", key="cg_tr_b",
                             accept_multiple_files=True, max_upload_size=uploads.UPLOAD_MB,
                             help=uploads.LIMIT_TEXT)
            images_b = read_domain("cg_tr_b", size)
        names = (name_a.strip() or "domain A", name_b.strip() or "domain B")
    c = st.columns(4)
    steps = c[0].number_input("Steps", 100, 50_000, 2_000, step=500, key="cg_tr_steps",
                              help="Batches of 16 unpaired pairs. The shipped models ran "
                                   "10,000 (digits) and 5,000 (photos).")
    filters = c[1].select_slider("Base filters", [8, 16, 32], 16, key="cg_tr_filters",
                                 help="Filters of the generators' first layer (and of the "
                                      "discriminators'); the shipped models use 16.")
    blocks = c[2].select_slider("Residual blocks", [1, 2, 3, 4, 6], 3, key="cg_tr_blocks")
    norms = ["instance", "batch", "none"]
    norm = c[3].selectbox("Normalisation", norms, index=norms.index(R.NORM[src]),
                          key=f"cg_tr_norm_{src}",
                          help="The reference's --norm. Instance (its default) erases a smooth "
                               "patch's overall colour; batch keeps it. Measured here: instance "
                               "was better on the digits, batch on the photo patches.")
    cfg = R.job_config(int(steps), g_filters=int(filters), n_blocks=int(blocks), image_size=size,
                       norm=norm)
    training.estimate_caption("cyclegan", tuple(sorted(cfg.items())),
                              lambda: R.estimate_step_seconds(dict(cfg)), int(steps))
    ready = src != "upload" or (images_a is not None and images_b is not None
                                and min(len(images_a), len(images_b)) >= R.MIN_UPLOAD_IMAGES)
    if src == "upload" and not ready:
        st.info(f"Upload at least {R.MIN_UPLOAD_IMAGES} readable images for each domain to "
                "train on them.")
    if st.button("Start training", type="primary", icon=":material/play_arrow:",
                 key="cg_tr_start", disabled=not ready):
        if training.start("cyclegan", lambda: R.training_spec(
                data=src if src != "upload" else "digits", steps=int(steps),
                g_filters=int(filters), n_blocks=int(blocks), image_size=size, norm=norm,
                images_a=images_a, images_b=images_b, labels=names)):
            st.rerun()
