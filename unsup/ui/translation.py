"""The "Translation without parallel text" page's pieces: the word alignment (numbers, the two
clouds before and after, a word's neighbours in the other language, the curves), a listing
translated, your own two files, and the training form."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from unsup import checkpoints
from unsup.recipes import translation as R
from unsup.recipes import translation_own as O
from unsup.ui import tables, training
from unsup.ui.models import model_of, pick_entry
from unsup.ui.text import join, md, safe

PAGE = "translation"
LANG_NAMES = {"th": "Thai", "en": "English"}
COLORS = {"th": "#d62728", "en": "#1f77b4"}


def _entries(kind: str) -> list[checkpoints.Entry]:
    return checkpoints.list_models(kind)


def _metrics(entry) -> dict:
    card = (entry.card or {}) if entry is not None else {}
    return card.get("metrics") or {}


def _extra(entry) -> dict:
    """The detailed numbers of a card: beside its metrics for a shipped model (the CLI keeps
    them apart), inside them for a run the page trained."""
    card = (entry.card or {}) if entry is not None else {}
    for x in (card.get("extra_metrics"), (card.get("metrics") or {}).get("extra_metrics")):
        if isinstance(x, dict):
            return x
    return {}


def _pct(x) -> str:
    return "—" if x is None else f"{100 * float(x):.1f}%"


@st.cache_resource(max_entries=4, show_spinner=False)
def _prepared(path: str, mtime: float):
    """What the word views need of an aligner, once per file: the tables, its map and the
    translation table both ways."""
    from unsup.ui.models import load_model

    model = load_model(path, mtime)
    X, Y = R.tables(model)
    W = R.final_map(model) if not hasattr(model, "dictionary") else model.W.detach().float()
    table = R.translation_table(model, W, k=5)
    words = R.words_of(model)
    return {"X": X, "Y": Y, "W": W, "table": table, "words": words,
            "pairs": R.lexicon_pairs(*words)}


def _aligner() -> tuple[checkpoints.Entry | None, dict | None]:
    items = [e for e in _entries(R.KIND_VECMAP) + _entries(R.KIND_MUSE) if not O.is_own(e)]
    entry = pick_entry("Word alignment", items, "tr_aligner", default=R.ALIGNER,
                       kinds=(R.KIND_VECMAP, R.KIND_MUSE))
    if entry is None:
        st.info(safe("No word alignment yet: `python -m unsup train align-vecmap --out "
                     "checkpoints` makes the shipped one, or use *Train* below."))
        return None, None
    if model_of(entry) is None:
        return entry, None
    return entry, _prepared(str(entry.path), entry.mtime)


# -- word translation ------------------------------------------------------------------------------
def _score_table(entry) -> None:
    """Precision@1/@5 of the map and of the baselines (from the card, computed when it was
    trained)."""
    x = _extra(entry)
    if not x:
        st.caption("This alignment's card has no held-out numbers.")
        return
    muse = _entries(R.KIND_MUSE)
    mx = _extra(muse[0]) if muse else {}
    rows = [("This alignment (no dictionary)", x["th_en"]["p1"], x["th_en"]["p5"],
             "all lexicon words"),
            ("…the same, English → Thai", x["en_th"]["p1"], x["en_th"]["p5"],
             "all lexicon words"),
            ("…on the supervised bound's test half", x["half"]["ours"]["p1"],
             x["half"]["ours"]["p5"], "half of the lexicon"),
            (f"Supervised Procrustes ({x['half']['supervised_pairs']} pairs given)",
             x["half"]["supervised"]["p1"], x["half"]["supervised"]["p5"],
             "the other half"),
            (f"Identical strings as seed ({x['identical']['seed_pairs']} pairs) + refinement",
             x["identical"]["p1"], x["identical"]["p5"], "all lexicon words"),
            ("Frequency rank (word of rank i → word of rank i)", x["frequency"]["p1"], None,
             "all lexicon words")]
    if mx.get("th_en"):
        rows.insert(2, ("MUSE adversarial + refinement (the shipped map, no dictionary)",
                        mx["th_en"]["p1"], mx["th_en"]["p5"], "all lexicon words"))
    df = pd.DataFrame([{"method": a, "P@1": _pct(b), "P@5": _pct(c), "scored on": d}
                       for a, b, c, d in rows])
    tables.show(df, key="tr_scores")
    n = x["th_en"]["n"]
    st.caption(safe("Precision@k: the share of the lexicon's Thai content words ({n} that the "
                    "vectors know) whose correct English word is among the k best candidates "
                    "(CSLS retrieval); **higher is better**. The lexicon is the generator's "
                    "truth: no method but the supervised bound ever saw it.", n=n))
    if mx.get("seeds"):
        ok = mx["successes"]
        st.caption(safe("MUSE's adversarial alignment succeeded (P@1 ≥ 60% after refinement) "
                        "in **{ok} of {k}** seeds: {per}.", ok=ok, k=len(mx["seeds"]),
                        per=", ".join(f"seed {r['seed']}: {100 * r['p1_refined']:.1f}%"
                                      for r in mx["seeds"])))


def cloud(prep: dict, t: float, n: int = 30, names: tuple[str, str] = ("Thai", "English")
          ) -> tuple[go.Figure, float, float]:
    """Source words (mapped part of the way, ``t``) and their translations, each pair joined
    by a line, in a plane fitted to the aligned pairs; and the mean cosine over every pair of
    ``prep["pairs"]`` at t = 0 and at ``t``. ``names``: the two languages' legend names."""
    X, Y, W = prep["X"], prep["Y"], prep["W"]
    sw, tw = prep["words"]
    M = (1 - t) * torch.eye(W.shape[0]) + t * W  # the map, part of the way
    pairs = prep["pairs"]
    si = torch.tensor([a for a, _ in pairs])
    ti = torch.tensor([b for _, b in pairs])
    shown = pairs[:n]
    mean, V = R.pair_plane(X, Y, W, shown)  # (1, d), (d, 2)
    P_th = ((X[si[:n]] @ M - mean) @ V).numpy()
    P_en = ((Y[ti[:n]] - mean) @ V).numpy()
    fig = go.Figure()
    xs, ys = [], []
    for a, b in zip(P_th, P_en):
        xs += [a[0], b[0], None]
        ys += [a[1], b[1], None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="word ↔ its translation",
                             line=dict(color="rgba(120,120,120,0.45)", width=1),
                             hoverinfo="skip"))
    for lang, name, P, words in (("th", names[0], P_th, [sw[a] for a, _ in shown]),
                                 ("en", names[1], P_en, [tw[b] for _, b in shown])):
        fig.add_trace(go.Scatter(
            x=P[:, 0], y=P[:, 1], mode="markers+text", name=name, text=words,
            hoverinfo="text", textposition="top center" if lang == "th" else "bottom center",
            textfont=dict(size=12, color=COLORS[lang]),
            marker=dict(size=8, color=COLORS[lang], opacity=0.8)))
    fig.update_layout(height=560, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title="principal axis 1 (of the aligned pairs)",
                      yaxis_title="principal axis 2", legend=dict(orientation="h"))
    unit = lambda E: E / E.norm(dim=1, keepdim=True)  # noqa: E731
    cos0 = float((unit(X[si]) * unit(Y[ti])).sum(1).mean())
    cos_t = float((unit(X[si] @ M) * unit(Y[ti])).sum(1).mean())
    return fig, cos0, cos_t


def _neighbours(prep: dict) -> None:
    sw, tw = prep["words"]
    direction = st.radio("Look up", ["Thai → English", "English → Thai"], horizontal=True,
                         key="tr_nn_dir")
    key = "th-en" if direction.startswith("Thai") else "en-th"
    words = sw if key == "th-en" else tw
    from unsup.data import bilingual as B

    truth = B.truth(key)
    content = [w for w in words if w in truth][:300]
    default = "ทะเล" if key == "th-en" and "ทะเล" in content else content[0]
    word = st.selectbox("Word (most frequent first)", content, index=content.index(default),
                        key=f"tr_nn_word_{key}")
    rows = [{"rank": i + 1, "candidate": c, "cosine": cos,
             "in the lexicon": "✓" if c in truth.get(word, ()) else ""}
            for i, (c, cos) in enumerate(prep["table"][key].get(word, []))]
    tables.show(pd.DataFrame(rows), key=f"tr_nn_table_{key}")
    good = sorted(truth.get(word, ()))
    st.caption(join(" ", [safe("The lexicon's translation(s) of **{w}**:", w=word),
                          md(", ".join(good) or "none")]))


def _curves(entry) -> None:
    x = _extra(entry)
    curve = x.get("curve") or []
    if not curve:
        return
    df = pd.DataFrame(curve)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=df["step"], y=df["criterion"], name="mean cosine criterion"))
    if "objective" in df:
        fig.add_trace(go.Scatter(x=df["step"], y=df["objective"], name="self-learning objective"))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title="self-learning iteration", yaxis_title="mean cosine (higher is better)",
                      legend=dict(orientation="h"))
    st.plotly_chart(fig, key="tr_curve")
    st.caption("Both curves need no dictionary: the self-learning objective is the mean best "
               "cosine of the current dictionary, both ways; MUSE's criterion is the mean cosine "
               "between the most frequent Thai words, mapped, and their CSLS translations. Both "
               "rise as the map improves and flatten once the dictionary stops changing.")


def words_section() -> None:
    st.subheader("Word translation without a dictionary")
    st.caption("Word vectors are learnt for each language alone (skip-gram word2vec on 20,000 "
               "listings each, different listings in each language). Their geometry is nearly "
               "the same up to a rotation, so a rotation found without any dictionary maps a "
               "Thai word next to its English translation.")
    entry, prep = _aligner()
    if prep is None:
        return
    _score_table(entry)
    st.markdown("**The two clouds** — the 30 most frequent Thai content words and their "
                "English translations, each pair joined by a line")
    t = st.slider("Alignment: 0 = Thai vectors as learnt, 1 = rotated by the map", 0.0, 1.0,
                  1.0, 0.1, key="tr_t")
    fig, cos0, cos_t = cloud(prep, t)
    st.plotly_chart(fig, key="tr_cloud")
    st.caption(safe("Mean cosine between a Thai word and its translation over all {n} lexicon "
                    "pairs the vectors know (in all 64 dimensions; **higher is better**, 1 = "
                    "the same point): {a:.3f} as learnt, {b:.3f} at this slider position. A "
                    "projection to 2-D cannot keep every distance, so read the lines as a "
                    "picture and the cosine as the number.", n=len(prep["pairs"]),
                    a=cos0, b=cos_t))
    st.markdown("**A word's nearest neighbours in the other language**")
    _neighbours(prep)
    _curves(entry)


# -- sentences -------------------------------------------------------------------------------------
def translate_section() -> None:
    from unsup.data import bilingual as B

    st.subheader("Translate a listing")
    st.caption("Word by word with the dictionary the alignment induced, and (when trained) the "
               "unsupervised translator of Lample et al. 2018, which learnt from the same "
               "monolingual listings only.")
    entry, prep = _aligner()
    if prep is None:
        return
    direction = st.radio("Direction", ["Thai → English", "English → Thai"], horizontal=True,
                         key="tr_dir")
    key = "th-en" if direction.startswith("Thai") else "en-th"
    src_lang, tgt_lang = key.split("-")
    pairs = R.heldout(R.N_HELDOUT)
    i = int(st.number_input("Held-out listing # (written in both languages; never trained on)",
                            1, len(pairs), 1, key="tr_idx")) - 1
    th, en = pairs[i]
    src_tokens, ref = (th, en) if key == "th-en" else (en, th)
    text = st.text_area("Listing (edit it, or paste your own)", B.to_text(list(src_tokens),
                                                                          src_lang),
                        key=f"tr_text_{key}_{i}", height=110, max_chars=2_000)
    tokens = B.tokenize(text, src_lang)
    if not tokens:
        st.info("Type or paste a listing to translate.")
        _bleu_table(entry)
        return
    known = set(prep["words"][0] if src_lang == "th" else prep["words"][1])
    unknown = sorted({t for t in tokens if t not in known and not t.replace(".", "").isdigit()})
    if unknown:
        st.warning(join(" ", [safe("Words the vectors do not know (copied as they are):"),
                              md(", ".join(unknown[:20]))]))
    wbw = R.word_by_word(tokens, prep["table"][key])
    rows = [("Word by word", B.to_text(wbw, tgt_lang))]
    unmt = [e for e in _entries(R.KIND_UNMT)
            if not (e.card.get("config") or {}).get("supervised")]
    if unmt:
        model = model_of(unmt[0])
        if model is not None:
            out = R.translate_docs(model, [tokens], key)[0]
            rows.append(("Unsupervised translator", B.to_text(out, tgt_lang)))
    if list(tokens) == list(src_tokens):
        rows.append(("Reference (the generator's own)", B.to_text(list(ref), tgt_lang)))
    for label, out in rows:
        st.markdown(join(" ", [safe("**{l}:**", l=label), md(out)]))
    _bleu_table(entry)


def _bleu_table(entry) -> None:
    x = _extra(entry)
    rows = []
    wbw = x.get("word_by_word") or {}
    if wbw:
        rows.append({"system": "Word by word (induced dictionary)",
                     "BLEU th→en": wbw["th-en"]["bleu"], "BLEU en→th": wbw["en-th"]["bleu"],
                     "chrF th→en": wbw["th-en"]["chrf"], "chrF en→th": wbw["en-th"]["chrf"]})
    shipped = [e for e in _entries(R.KIND_UNMT) if e.source == "shipped"]
    shipped.sort(key=lambda e: bool((e.card.get("config") or {}).get("supervised")))
    for e in shipped:  # the unsupervised translator's phases, then the ceiling
        card = e.card or {}
        phases = card.get("milestones") or {}
        labels = {str(R.UNMT_PHASES[0]): "+ denoising (shared encoder)",
                  str(R.UNMT_PHASES[1]): "+ back-translation"}
        for step, s in sorted(phases.items(), key=lambda kv: int(kv[0])):
            rows.append({"system": labels.get(step, f"step {step}"),
                         "BLEU th→en": s["th-en"]["bleu"], "BLEU en→th": s["en-th"]["bleu"],
                         "chrF th→en": s["th-en"]["chrf"], "chrF en→th": s["en-th"]["chrf"]})
        m = card.get("metrics") or {}
        if "bleu_th_en" in m:
            sup = (card.get("config") or {}).get("supervised")
            rows.append({"system": ("Supervised on parallel listings (ceiling)" if sup else
                                    "+ adversarial term (the full system)"),
                         "BLEU th→en": m["bleu_th_en"], "BLEU en→th": m["bleu_en_th"],
                         "chrF th→en": m["chrf_th_en"], "chrF en→th": m["chrf_en_th"]})
    if not rows:
        return
    tables.show(pd.DataFrame(rows), key="tr_bleu")
    st.caption(safe("On the {n:,} held-out listings (BLEU and chrF by sacrebleu over the "
                    "generator's word tokens, 0–100, **higher is better**).", n=R.N_HELDOUT))


# -- training ----------------------------------------------------------------------------------------
METHODS = {R.KIND_VECMAP: "Vecmap (similarity distributions, then self-learning)",
           R.KIND_MUSE: "MUSE (adversarial map; refined when measured)"}


def _runs() -> list[checkpoints.Entry]:
    return [e for e in _entries(R.KIND_VECMAP) + _entries(R.KIND_MUSE)
            if e.source == "user" and not O.is_own(e)]


def training_form() -> None:
    job = training.current_job(PAGE)
    if job is not None and "MUSE" in str(job.title):
        shown = training.job_panel(PAGE, ["d_acc", "map_loss"], title="The adversarial game",
                                   y_title="D accuracy / map loss", preview_caption="")
        note = ("The discriminator's accuracy near 0.5 means the mapped Thai vectors can no "
                "longer be told from the English ones; it is a balance, not a score.")
    else:
        shown = training.job_panel(PAGE, ["objective"], title="Self-learning objective",
                                   y_title="mean best cosine (higher is better)",
                                   preview_caption="")
        note = ("The objective rises while the induced dictionary improves and flattens once "
                "it stops changing (the run has converged).")
    if shown:
        st.caption(note)
        return
    st.write("Align the built-in listings' Thai and English word vectors again, in the "
             "background, with either method and a seed of your choice. Switch pages freely; "
             "Stop keeps the last checkpoint, which then appears in the word alignment picker; "
             "Resume continues it, also after a restart.")
    training.resume_from_disk(PAGE, _runs(), lambda path, more: R.training_spec(
        steps=int(more), resume=path))
    c = st.columns(3)
    kind = c[0].selectbox("Method", list(METHODS), format_func=METHODS.get, key="tr_method")
    steps = int(c[1].number_input("Steps", 10, 100_000, R.JOB_STEPS[kind], step=100,
                                  key=f"tr_steps_{kind}"))
    seed = int(c[2].number_input("Seed", 0, 10_000, 1, key="tr_seed"))
    training.estimate_caption(kind, (kind,), lambda: R.estimate_step_seconds(kind), steps)
    if kind == R.KIND_VECMAP:
        st.caption("Vecmap stops once its dictionary stops changing (at the largest keep "
                   "probability); steps after that change nothing.")
    if st.button("Start training", type="primary", icon=":material/play_arrow:",
                 key="tr_start"):
        try:
            make = R.training_spec(kind, steps=steps, seed=seed)
        except (ValueError, FileNotFoundError) as exc:
            st.error(md(str(exc)))
            return
        if training.start(PAGE, lambda: make):
            st.rerun()
