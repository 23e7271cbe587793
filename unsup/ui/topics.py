"""Streamlit panels of the topic-map page (app_pages/topic_maps.py): data source, the user's upload
and fit job, and one panel per section. Compute lives in unsup.models / unsup.data, figures in
unsup.viz.topics; this module only wires widgets to them and caches results."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from unsup import paths
from unsup.data import tables
from unsup.jobs import get_runner
from unsup.metrics import topics as tmetrics
from unsup.models import topics as tm
from unsup.recipes import topics as recipe
from unsup.ui import tables as ui_tables
from unsup.ui import training
from unsup.ui.text import code, join, md
from unsup.text import TextConfig, raw_tokens, tokenize
from unsup.viz import topics as tv

SIZES = [5_000, 20_000, 50_000, 100_000, 200_000]
LANGS = {"th": "ไทย Thai", "en": "English", "mixed": "Thai + English"}
MODES = {"scatter": "Dots", "hexagon": "Hexagons", "heatmap": "Heatmap"}
EXAMPLES = {  # the "Try a text" box opens with an example in the model's language
    "th": "คอนโดหรูติดชายหาด วิวทะเลพาโนรามา มองเห็นพระอาทิตย์ตก ใกล้ห้างสรรพสินค้า "
          "พร้อมสระว่ายน้ำและฟิตเนส เหมาะปล่อยเช่า ผลตอบแทนดี",
    "en": "Luxury beachfront condo with a panoramic sea view and sunset balcony, near the "
          "shopping mall, pool and fitness centre, great rental yield for investors",
    "mixed": "คอนโดหรูติดชายหาด sea view panorama มองเห็นพระอาทิตย์ตก near shopping mall "
             "พร้อมสระว่ายน้ำ pool and fitness, ผลตอบแทนดี rental yield",
}


@dataclass
class Active:
    """What the page shows: a table of listings, its topic mixes, the model."""

    key: str
    df: pd.DataFrame  # id, text and, when known, lat, lon, type, developer, date
    theta: np.ndarray  # (n, K) float32
    model: tm.TopicModel
    lang: str
    source: str  # builtin | upload

    @property
    def has_map(self) -> bool:
        return "lat" in self.df

    @property
    def labels(self) -> list[str]:
        return st.session_state.get(f"labels:{self.key}") or list(self.model.labels_)


# -- cached data --------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=6)
def _shipped(name: str, mtime: float) -> tm.TopicModel:
    return recipe.load_model(recipe.shipped_path(name))


@st.cache_data(show_spinner="Generating the built-in listings…", max_entries=4)
def _listings(lang: str, n: int) -> pd.DataFrame:
    return recipe.builtin_table(lang, n)


@st.cache_resource(show_spinner="Topic mix of every listing under the fitted model…",
                   max_entries=4)
def _builtin_theta(lang: str, n: int, name: str, mtime: float) -> np.ndarray:
    model = _shipped(name, mtime)
    data = model.card_.get("data", {})
    if data.get("n") == n and data.get("lang") == lang and len(model.doc_topic_) == n:
        return model.doc_topic_.astype(np.float32)
    return model.transform_texts(_listings(lang, n)["text"].tolist()).astype(np.float32)


@st.cache_resource(show_spinner="Topic mix of every listing under the loaded model…",
                   max_entries=4)
def _theta_under(key: str, model_hash: str, _model: tm.TopicModel, _df: pd.DataFrame):
    return _model.transform_texts(_df["text"].tolist()).astype(np.float32)


@st.cache_resource(show_spinner=False, max_entries=8)
def _points(key: str, labels: tuple[str, ...], _df: pd.DataFrame, _theta: np.ndarray):
    return tv.point_table(_df, _theta, list(labels))


@st.cache_resource(show_spinner=False, max_entries=24)
def _deck(key: str, labels: tuple, types: tuple, topics: tuple, mode: str, focus, _pts,
          _theta):
    mask = np.isin(_pts["topic"].to_numpy(), topics)
    if types is not None:
        mask &= _pts["type"].isin(types).to_numpy()
    weight = None if focus is None or mode != "heatmap" else _theta[mask, focus]
    return tv.listing_deck(_pts[mask], len(labels), mode, weight=weight, focus=focus), int(
        mask.sum())


@st.cache_data(show_spinner=False, max_entries=4)
def _read(data: bytes, name: str) -> tables.Table:
    return tables.read_table(data, name)


def _file_hash(b: bytes) -> str:
    return hashlib.sha1(b).hexdigest()[:12]


# -- choosing the data ----------------------------------------------------------------------
def sidebar_source() -> Active | None:
    """Sidebar: built-in corpus or the user's file; returns what to show (None: nothing yet)."""
    src = st.sidebar.radio("Listings", ["Built-in corpus", "My file"], key="topic_src",
                           horizontal=True)
    if src == "My file":
        return _uploaded_active()
    lang = st.sidebar.selectbox("Language", list(LANGS), format_func=LANGS.get, key="topic_lang")
    n = st.sidebar.select_slider("Listings", SIZES, value=5_000, key="topic_n",
                                 format_func=lambda v: f"{v:,}")
    name = f"topics-{lang}-5000"
    path = recipe.shipped_path(name)
    if not path.exists():
        st.error(f"The shipped model {code(name)} is missing. Recreate it with "
                 f"{code('python -m unsup train ' + name)}, then reload this "
                 "page.")
        return None
    try:
        model = _shipped(name, path.stat().st_mtime)
    except tm.TopicModelError as exc:
        st.error(f"{md(exc)} Recreate it with {code('python -m unsup train ' + name)}.")
        return None
    df = _listings(lang, n)
    loaded = st.session_state.get("topic_loaded")
    if loaded is not None:
        key = f"builtin-{lang}-{n}-loaded-{loaded.card_.get('_hash')}"
        return Active(key, df, _theta_under(key, loaded.card_.get("_hash"), loaded, df), loaded,
                      lang, "builtin")
    theta = _builtin_theta(lang, n, name, path.stat().st_mtime)
    return Active(f"builtin-{lang}-{n}-{int(path.stat().st_mtime)}", df, theta, model, lang,
                  "builtin")


@st.cache_resource(show_spinner="Loading your fitted model…", max_entries=4)
def _saved_fit(path: str, mtime: float):
    return recipe.load_fit(path)


NEW = "➕ Fit a new file"


def _uploaded_active() -> Active | None:
    """"My file": one of the user's saved fits (they survive restarts), or a new upload."""
    fits = recipe.saved_fits()
    names = [e.name for e in fits]
    want = st.session_state.pop("topic_pick_new", None)
    if want in names:
        st.session_state["topic_fit"] = want
    choice = st.sidebar.selectbox("Your fitted models", names + [NEW], key="topic_fit",
                                  format_func=lambda n: n if n == NEW else
                                  fits[names.index(n)].label)
    running = training.job_panel("topics", ["-loglik/word"],
                                 y_title="−log-likelihood per word (lower is better)")
    if running:
        job = training.current_job("topics")
        if job is not None and job.status == "done" and job.result:
            done_name = Path(job.result["path"]).parent.name
            if st.session_state.get("topic_seen") != job.id:
                st.session_state["topic_seen"] = job.id
                st.session_state["topic_pick_new"] = done_name
                st.rerun()
    if choice == NEW:
        stopped_panel()
        with st.expander("Your file and the fit", expanded=True):
            upload_panel()
        return None
    entry = fits[names.index(choice)]
    try:
        model, df = _saved_fit(str(entry.path), entry.mtime)
    except (tm.TopicModelError, OSError, ValueError) as exc:
        st.error(f"{md(entry.title)} cannot be loaded: {md(str(exc))}")
        return None
    lang = (model.card_.get("data") or {}).get("lang", "th")
    loaded = st.session_state.get("topic_loaded")
    if loaded is not None:
        key = f"{entry.name}-loaded-{loaded.card_.get('_hash')}"
        return Active(key, df, _theta_under(key, loaded.card_.get("_hash"), loaded, df), loaded,
                      lang, "upload")
    return Active(entry.name, df, model.doc_topic_.astype(np.float32), model, lang, "upload")


def stopped_panel() -> None:
    """Stopped fits of the user's files (also from before an app restart), each resumable."""
    job = training.current_job("topics")
    if job is not None and job.active:
        return
    for run_dir, meta in recipe.stopped_fits()[:5]:
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        cfg = meta.get("config") or {}
        plsa = cfg.get("method") == "plsa"
        c1.caption(f"Stopped fit: {'pLSA' if plsa else 'LDA'} K={md(cfg.get('n_topics'))} on "
                   f"{md(meta.get('file'))}, {md(meta['done'])} of {md(cfg.get('iterations'))} "
                   f"{'EM steps' if plsa else 'Gibbs sweeps'} done.")
        if c2.button("Resume", key=f"resume_{run_dir.name}", icon=":material/play_arrow:"):
            try:
                title, work, resume, rd = recipe.resume_fit(run_dir)
            except ValueError as exc:  # its table is gone or unreadable
                st.error(md(str(exc)))
                continue
            training.follow("topics", get_runner().submit_work(title, work, page="topics",
                                                               resume=resume, run_dir=rd))
            st.rerun()


def upload_panel() -> None:
    """Upload -> column mapping -> cleaning report -> text settings -> background fit."""
    f = st.file_uploader("Listings file: CSV, Excel (.xlsx) or JSON",
                         type=["csv", "tsv", "txt", "xlsx", "json", "jsonl"], key="topic_file",
                         max_upload_size=tables.UPLOAD_MB, help=tables.LIMIT_TEXT)
    st.caption(f"Limit: {tables.LIMIT_TEXT}.")
    if f is None:
        st.info("One row per listing: a text column (required), latitude and longitude in "
                "decimal degrees (for the map), and optionally property type, developer/owner "
                "and date. UTF-8 and Thai TIS-620/cp874 files are both fine.")
        return
    data = f.getvalue()
    try:
        table = _read(data, f.name)
    except tables.TableError as exc:
        st.error(md(exc))
        return
    df = table.df
    for note in table.notes:
        st.caption(md(note))
    st.caption(f"{len(df):,} rows, {df.shape[1]:,} columns, read as {md(table.kind)}"
               + (f" ({md(table.encoding)})" if table.encoding else ""))
    guess = tables.guess_columns(df)
    for note in getattr(guess, "notes", []):
        (st.warning if guess.get("text") is None else st.caption)(md(note))
    opts = ["—"] + [str(c) for c in df.columns]
    roles = [("text", "Text *"), ("lat", "Latitude"), ("lon", "Longitude"), ("type", "Type"),
             ("developer", "Developer / owner"), ("date", "Date")]
    cols = st.columns(len(roles))
    mapping = {}
    for c, (role, title) in zip(cols, roles):
        g = guess.get(role)
        mapping[role] = c.selectbox(md(title), opts, index=opts.index(str(g)) if g else 0,
                                    key=f"map_{role}_{_file_hash(data)}")
    df.columns = [str(c) for c in df.columns]
    skey = f"swap_{_file_hash(data)}"
    try:
        cleaned = tables.clean(df, mapping, swap_latlon=st.session_state.get(skey, False))
    except tables.TableError as exc:
        st.error(md(exc))
        if getattr(exc, "swap_suggested", False) and st.button(
                "Swap latitude and longitude", key=f"b{skey}"):
            st.session_state[skey] = True
            st.rerun()
        return
    if cleaned.swap_suggested:
        st.warning(md(cleaned.swap_message))
        if st.button("Swap latitude and longitude", key=f"b{skey}"):
            st.session_state[skey] = True
            st.rerun()
    for note in cleaned.notes:
        st.caption(md(note))
    (st.success if not cleaned.n_skipped else st.warning)(md(cleaned.summary()))
    if cleaned.n_skipped:
        with st.expander(f"Skipped rows ({cleaned.n_skipped:,})"):
            ui_tables.show(cleaned.skipped.head(500))
    if not cleaned.has_map:
        st.warning("No latitude/longitude columns mapped: topics can be fitted, but there is "
                   "no map. Map both columns to see the listings on the map.")
    c1, c2, c3, c4 = st.columns(4)
    k = c1.number_input("Topics K", 2, 60, 10, key="up_k")
    min_df = c2.number_input("Min. documents per word", 1, 1000, 3, key="up_mindf")
    max_df = c3.slider("Max. share of documents", 0.05, 1.0, 0.5, 0.05, key="up_maxdf")
    iters = c4.number_input("Gibbs sweeps", 20, 2000, 150, 10, key="up_iter")
    extra = st.text_input("Extra stopwords (space or comma separated)", key="up_stop")
    text_cfg = TextConfig(extra_stopwords=tuple(extra.replace(",", " ").split()),
                          min_df=int(min_df), max_df=float(max_df))
    row = st.number_input("Token preview: row", 0, len(cleaned.df) - 1, 0, key="up_prev")
    st.caption(join(" · ", tokenize(cleaned.df["text"].iloc[int(row)], text_cfg))
               or "(no tokens)")
    cfg = tm.TopicConfig(n_topics=int(k), iterations=int(iters), text=text_cfg)
    job = training.current_job("topics")
    if st.button("Fit topics", type="primary", disabled=bool(job and job.active)):
        try:
            title, work, resume, run_dir = recipe.user_fit(cleaned.df, cfg, f.name)
        except OSError as exc:  # a full disk: the run folder it began is removed again
            from unsup.fileio import os_error_text

            st.error(md(os_error_text(exc, "the new run")))
            return
        training.follow("topics", get_runner().submit_work(title, work, page="topics",
                                                           resume=resume, run_dir=run_dir))
        st.session_state.pop("topic_loaded", None)
        st.rerun()


# -- the linked focus -----------------------------------------------------------------------
def sidebar_focus(act: Active) -> tuple[int | None, float]:
    """The focus topic (linked across the views) and the relevance weight lambda."""
    K = act.model.n_topics
    if st.session_state.get("topic_focus") is not None and st.session_state["topic_focus"] >= K:
        st.session_state["topic_focus"] = None
    labels = act.labels
    focus = st.sidebar.selectbox("Focus topic", [None] + list(range(K)), key="topic_focus",
                                 format_func=lambda k: "— all topics —" if k is None
                                 else f"{k}: {labels[k]}" + (
                                     f" ({recipe.gloss(labels[k])})"
                                     if recipe.gloss(labels[k]) else ""))
    lam = st.sidebar.slider("Relevance λ", 0.0, 1.0, 0.6, 0.05, key="topic_lambda",
                            help="Sievert & Shirley (2014): 1 ranks a topic's words by "
                                 "probability, lower values favour words specific to the topic.")
    return focus, lam


def _set_all(key: str, values: list) -> None:
    st.session_state[key] = list(values)


def _select_all_row(label: str, key: str, values: list) -> None:
    a, b = st.columns(2)
    a.button(f"Select all {md(label)}", on_click=_set_all, args=(key, values), key=f"{key}_all",
             width="stretch")
    b.button(f"Unselect all {md(label)}", on_click=_set_all, args=(key, []), key=f"{key}_none",
             width="stretch")


# -- sections -------------------------------------------------------------------------------
def map_section(act: Active, focus: int | None) -> None:
    if not act.has_map:
        st.info("This table has no coordinates, so there is no map. Map the latitude and "
                "longitude columns of your file to draw one.")
        return
    labels = act.labels
    K = act.model.n_topics
    pts = _points(act.key, tuple(labels), act.df, act.theta)
    left, right = st.columns([1, 1])
    with left:
        types = None
        if "type" in act.df:
            all_types = sorted(pts["type"].unique().tolist())
            tkey = f"ftype:{act.key}"
            st.session_state.setdefault(tkey, all_types)
            types = st.multiselect("Property type", all_types, key=tkey)
            _select_all_row("types", tkey, all_types)
    with right:
        zkey = f"ftopic:{act.key}"
        st.session_state.setdefault(zkey, list(range(K)))
        topics = st.multiselect("Dominant topic", list(range(K)), key=zkey,
                                format_func=lambda k: f"{k}: {labels[k]}")
        _select_all_row("topics", zkey, list(range(K)))
    mode = st.radio("Map", list(MODES), format_func=MODES.get, horizontal=True,
                    key="topic_mode", label_visibility="collapsed")
    deck, shown = _deck(act.key, tuple(labels), None if types is None else tuple(types),
                        tuple(topics), mode, focus, pts, act.theta)
    st.pydeck_chart(deck, height=540)
    note = {"scatter": "colour = dominant topic, opacity = its share",
            "hexagon": "column height and colour = number of listings",
            "heatmap": "density" + (f" weighted by topic {focus}'s share" if focus is not None
                                    else " of listings (pick a focus topic to weight it)")}[mode]
    st.caption(f"{shown:,} of {len(pts):,} listings · {md(note)}"
               + (f" · dots: an even sample of {tv.MAX_SCATTER:,}" if mode == "scatter"
                  and shown > tv.MAX_SCATTER else ""))
    if mode == "scatter":  # only the dots take the topics' colours
        st.markdown(tv.legend_html(labels, topics), unsafe_allow_html=True)


def _pick_topic() -> None:
    sel = st.session_state.get("topic_itm")
    pts = getattr(getattr(sel, "selection", None), "points", None) or (
        sel.get("selection", {}).get("points", []) if isinstance(sel, dict) else [])
    if pts:
        p = pts[0]
        k = p.get("customdata", p.get("point_index"))
        if isinstance(k, list):
            k = k[0]
        st.session_state["topic_focus"] = int(k)


def topics_section(act: Active, focus: int | None, lam: float) -> None:
    model = act.model
    table = tmetrics.topic_table(model, lam)
    table["label"] = act.labels
    glosses = [recipe.gloss(x) for x in act.labels]
    if any(glosses):
        table.insert(2, "in English", [g or "" for g in glosses])
    st.caption(f"Two rankings of each topic's words: by relevance at λ = {lam:.2f} (the sidebar's "
               "slider; lower λ favours words specific to the topic), and the lecture's formula, "
               "P(word | topic) of its most probable words in decreasing order. Rename a topic "
               "in the label column.")
    edited = st.data_editor(
        table, hide_index=True, width="stretch", key=f"tedit:{act.key}",
        disabled=["topic", "share", "relevant", "words", "in English"],
        column_config={"share": st.column_config.ProgressColumn(
                           "share", min_value=0.0, format="%.3f",
                           max_value=float(max(table["share"].max(), 1e-9)),
                           help="The topic's share of all listings (mean θ)."),
                       "relevant": st.column_config.TextColumn(
                           f"top words by relevance (λ = {lam:.2f})", width="medium"),
                       "words": st.column_config.TextColumn(
                           "P(word | topic), most probable first", width="large"),
                       "in English": st.column_config.TextColumn(
                           help="An English gloss of the Thai label, for readers without "
                                "Thai.")})
    new = [str(x) if str(x).strip() else f"Topic {i}" for i, x in enumerate(edited["label"])]
    if new != act.labels:
        st.session_state[f"labels:{act.key}"] = new
        st.rerun()
    a, b = st.columns(2)
    k = 0 if focus is None else focus
    words = [[w for w, _ in model.top_words(j, 6)] for j in range(model.n_topics)]
    a.plotly_chart(tv.intertopic_map(tmetrics.intertopic_positions(model.topic_word_),
                                     model.prevalence(), act.labels, words, focus),
                   key="topic_itm", on_select=_pick_topic, selection_mode="points",
                   width="stretch")
    b.plotly_chart(tv.relevance_bars(*tmetrics.relevance_counts(model, k, lam), k,
                                     model.n_topics, lam), width="stretch")
    if focus is None:
        b.caption("Showing topic 0: click a circle or pick a focus topic in the sidebar.")


def trends_section(act: Active, focus: int | None) -> None:
    labels = act.labels
    if "date" in act.df:
        freq = st.radio("Period", ["Q", "M"], horizontal=True, key="topic_freq",
                        format_func={"Q": "Quarter", "M": "Month"}.get)
        tab = tmetrics.share_by_period(act.df["date"], act.theta, freq)
        st.plotly_chart(tv.trend_chart(tab, labels, focus), width="stretch")
    else:
        st.info("No date column, so no trends over time.")
    if "developer" in act.df:
        lift = tmetrics.developer_niches(act.df["developer"], act.theta)
        if len(lift):
            st.plotly_chart(tv.niche_heatmap(lift, labels, focus), width="stretch")
            st.caption("Red: the developer advertises this topic more than the market does; "
                       "blue: less. Developers with at least 20 listings.")
        else:
            st.info("No developer has 20 listings or more, so there are no niches to compare.")
    else:
        st.info("No developer/owner column, so no niches.")


def document_section(act: Active) -> None:
    n = len(act.df)
    i = int(st.number_input(f"Listing (0–{n - 1:,})", 0, n - 1, 0, key=f"tdoc:{act.key}"))
    row = act.df.iloc[i]
    meta = [str(row[c]) for c in ("id", "type", "developer", "area") if c in row]
    if "date" in row:
        meta.append(str(pd.Timestamp(row["date"]).date()))
    st.caption(join(" · ", meta))
    _show_doc(act, str(row["text"]), act.theta[i].astype(float), "This listing's topic "
              "proportions")


def _show_doc(act: Active, text: str, theta: np.ndarray, title: str) -> None:
    toks = raw_tokens(text)
    z = act.model.word_topics(toks, theta)
    st.plotly_chart(tv.proportion_bar(theta, act.labels, title), width="stretch")
    st.markdown(tv.document_html(toks, z, act.labels, "en" if act.lang == "en" else "th"),
                unsafe_allow_html=True)
    st.caption("Each word in the colour of its most likely topic, argmax_z θ_z·β_w|z (the "
               "E-step's p(z|d,w)); grey words are stopwords or outside the vocabulary.")
    with st.expander("Tokens the model sees"):
        st.write(join(" · ", tokenize(text, act.model.config.text)) or "(none)")


def try_text_section(act: Active) -> None:
    example = EXAMPLES.get(act.lang, EXAMPLES["th"])
    text = st.text_area("Type or paste any listing text (Thai, English or both)", example,
                        key=f"topic_try_{act.lang}", height=110)
    if not text.strip():
        st.info("Type some text to see its topic mix.")
        return
    theta = act.model.transform_texts([text])[0]
    if not act.model.encode([text])[0].size:
        st.warning("None of these words is in the model's vocabulary; the mix shown is the "
                   "prior's. Try words from the topic list.")
    _show_doc(act, text, theta, "Topic mix under the fitted model (folding-in)")


def choose_k_section(act: Active) -> None:
    st.caption("Choosing K: coherence of the LDA topics (C_V and NPMI, Röder et al. 2015: "
               "higher is better) and perplexity on held-out documents (lower is better), for "
               "LDA and for pLSA fitted by the lecture's EM without priors. Without the "
               "Dirichlet prior pLSA can overfit: the sentence under the chart says whether it "
               "does on this corpus. HDP (the Chinese restaurant process) suggests K.")
    metrics = act.model.card_.get("metrics", {})
    rows, hdp = metrics.get("sweep"), (metrics.get("hdp") or {}).get("k")
    out = _sweep_file(act)
    if out.exists():
        import json

        result = json.loads(out.read_text(encoding="utf-8"))
        rows, hdp = result["sweep"], result["hdp"]["k"]
    if rows:
        st.plotly_chart(tv.sweep_chart(rows, hdp), width="stretch")
        st.caption(md(sweep_caption(rows)))
        ui_tables.show(pd.DataFrame(rows).round(3))
    running = training.job_panel("topics-sweep", curves=False)
    job = training.current_job("topics-sweep")
    if act.source == "upload" and (job is None or not job.active):
        ks = st.multiselect("K values", list(range(2, 41)), [4, 6, 8, 10, 12, 15, 20],
                            key="sweep_ks")
        if st.button("Run the K sweep and HDP (background)") and ks:
            work = recipe.sweep_work(act.df["text"].tolist(), act.model.config, sorted(ks), out)
            training.follow("topics-sweep", get_runner().submit_work(
                f"K sweep on {act.key}", work, page="topics"))
            st.rerun()
    elif not rows and act.source != "upload" and not running:
        st.info("This model's card has no K sweep; `python -m unsup train <preset>` makes one.")


def _sweep_file(act: Active) -> Path:
    """Where the K sweep of what the page shows is written (beside the user's fit)."""
    if act.source == "upload":
        fit = next((e for e in recipe.saved_fits() if e.name == act.key.split("-loaded-")[0]),
                   None)
        if fit is not None:
            return fit.path.parent / "sweep.json"
    return paths.cache_dir() / "sweeps" / f"{act.key}.json"


def sweep_caption(rows: list[dict]) -> str:
    """What this sweep shows, computed from its rows (not a claim written in advance)."""
    lda = {r["k"]: r for r in rows if r["method"] == "lda"}
    plsa = {r["k"]: r for r in rows if r["method"] == "plsa"}
    common = sorted(set(lda) & set(plsa))
    bits = []
    if lda:
        best = max(lda.values(), key=lambda r: r["c_v"])
        bits.append(f"LDA's topics are most coherent at K = {best['k']} (C_V {best['c_v']:.3f}; "
                    "higher is better)")
    if common:
        worse = [k for k in common if plsa[k]["perplexity_heldout"] > lda[k]["perplexity_heldout"]]
        fits_better = [k for k in common
                       if plsa[k]["perplexity_train"] < lda[k]["perplexity_train"]]
        if len(worse) == len(common):
            bits.append("pLSA's held-out perplexity is higher than LDA's at every K (lower is "
                        "better): without the Dirichlet prior it overfits"
                        + (", although it fits the training documents better" if fits_better
                           else ""))
        elif worse:
            bits.append(f"pLSA's held-out perplexity is higher than LDA's at K = "
                        f"{', '.join(map(str, worse))} and lower at the other K values")
        else:
            bits.append("on this corpus pLSA's held-out perplexity is not higher than LDA's at "
                        "any K: no sign of pLSA overfitting here")
    return "This sweep: " + "; ".join(bits) + "." if bits else ""


def export_section(act: Active) -> None:
    model = act.model
    labels = act.labels
    c1, c2, c3 = st.columns(3)
    table = tmetrics.topic_table(model, 1.0, 10)
    table["label"] = labels
    c1.download_button("Topic table (CSV)", table.to_csv(index=False).encode("utf-8-sig"),
                       "topics.csv", "text/csv", width="stretch")
    shares = pd.DataFrame(act.theta.round(4), columns=[f"t{k}_{labels[k]}" for k in range(
        model.n_topics)])
    keep = [c for c in ("id", "lat", "lon", "type", "developer", "date") if c in act.df]
    out = pd.concat([act.df[keep].reset_index(drop=True), shares], axis=1)
    out.insert(len(keep), "dominant_topic", act.theta.argmax(1))
    c2.download_button("Topic shares per listing (CSV)",
                       out.to_csv(index=False).encode("utf-8-sig"), "listing_topics.csv",
                       "text/csv", width="stretch")
    c3.download_button("Fitted model (.safetensors)",
                       recipe.model_bytes(replace(model, labels_=labels)),
                       "topic_model.safetensors",
                       "application/octet-stream", width="stretch")
    st.divider()
    up = st.file_uploader("Load a saved model (.safetensors from this page, or an older .npz) "
                          "and apply it to these listings", type=["safetensors", "npz"],
                          key="topic_model_file", max_upload_size=100,
                          help="A .safetensors (or .npz) of up to 100 MB.")
    if up is not None:
        data = up.getvalue()
        try:
            loaded = recipe.model_from_bytes(data, up.name)
        except tm.TopicModelError as exc:
            st.error(md(exc))
        else:
            loaded.card_["_hash"] = _file_hash(data)
            old = st.session_state.get("topic_loaded")
            if old is None or old.card_.get("_hash") != loaded.card_["_hash"]:
                st.session_state["topic_loaded"] = loaded
                st.rerun()
    if st.session_state.get("topic_loaded") is not None:
        st.success(f"Using the loaded model ({md(st.session_state['topic_loaded'].n_topics)} "
                   "topics).")
        if st.button("Back to the fitted model"):
            st.session_state.pop("topic_loaded", None)
            st.rerun()


def model_caption(act: Active) -> str:
    card = act.model.card_
    m = card.get("metrics", {})
    bits = [f"{act.model.n_topics} topics", f"{len(act.model.vocab_):,} words",
            f"{len(act.df):,} listings"]
    ppl, rec = m.get("perplexity_heldout"), m.get("recovery_cosine")
    if isinstance(ppl, (int, float)):
        bits.append(f"held-out perplexity {ppl:.1f} (how surprised the model is by unseen "
                    "listings' words; lower is better)")
    if isinstance(rec, (int, float)):
        bits.append(f"matches the generator's themes at cosine {rec:.3f} (1 = exactly)")
    command = str(card.get("command") or "")
    if re.fullmatch(r"python -m unsup train [\w.-]+( --steps \d+)?( --out checkpoints)?",
                    command):
        bits.append(code(command))  # only a command of our own shape (a loaded file's card
        #                               could hold anything)
    return join(" · ", bits)
