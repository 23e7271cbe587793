"""The translation page's "Your own text" section: two monolingual files, checked for size on
the page, aligned by Vecmap in a background job; then the run's numbers, its two clouds, a
word's neighbours in the other language and a text translated word by word."""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import streamlit as st
import torch

from unsup import checkpoints
from unsup.data import tables as T
from unsup.recipes import translation as R
from unsup.recipes import translation_own as O
from unsup.ui import tables, training
from unsup.ui.models import model_of, pick_entry
from unsup.ui.text import join, md, safe

KEY = "translation_own"  # this section's job, apart from the Train section's
CHECK_CHARS = 300_000
"""The page counts words in at most this many characters of a file (Thai word cutting took
0.22 s per 100,000 characters of the built-in listings, measured on a busy machine; varied text
repeats fewer chunks, so it costs more); a larger file is counted whole by the job."""
LIMIT = 5_000
"""The clouds, neighbours and word-by-word table use each side's most frequent words only."""
SAMPLE_N = 3_000
TYPES = ["csv", "tsv", "txt", "xlsx", "json", "jsonl"]


@st.cache_data(show_spinner=False, max_entries=4)
def _read(data: bytes, name: str) -> T.Table:
    return T.read_table(data, name)


@st.cache_data(show_spinner=False, max_entries=8)
def _count(digest: str, column: str, lang: str, _docs: tuple[str, ...]) -> tuple[O.Stats, bool]:
    """(the words of the file's first :data:`CHECK_CHARS` characters, whether that was the whole
    file)."""
    kept, chars = [], 0
    for d in _docs:
        if chars + len(d) > CHECK_CHARS and kept:
            break
        kept.append(d)
        chars += len(d)
    s = O.stats([O.tokens(t, lang) for t in kept], lang)
    return s, len(kept) == len(_docs)


def _sample_csv(lang: str) -> bytes:
    """The first listings of the built-in corpus of ``lang`` as a one-column CSV (made when the
    button is pressed)."""
    from unsup.data import bilingual as B

    df = pd.DataFrame({"text": [B.to_text(d, lang) for d in B.corpus(lang, SAMPLE_N)]})
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def _curve_text() -> str:
    """What smaller corpora of the built-in listings scored, from the shipped alignment's card
    (empty when its card has no such curve)."""
    from unsup.ui.translation import _extra

    shipped = [e for e in checkpoints.list_models(R.KIND_VECMAP)
               if e.source == "shipped" and e.name == R.ALIGNER]
    curve = [r for r in (_extra(shipped[0]).get("size_curve") or []) if r.get("p1") is not None
             ] if shipped else []
    if not curve:
        return ""
    parts = ", ".join(f"{100 * r['p1']:.0f}% from {r['tokens'][R.SRC]:,} words a language"
                      for r in reversed(curve))
    return safe("For scale: on the built-in Thai and English listings, the same steps "
                "translated {parts} (precision@1, the share of dictionary words translated "
                "right; from the shipped alignment's card). Under {n:,} words a file, most "
                "translations come out wrong.", parts=parts, n=O.MIN_TOKENS)


def _one_file(side: str, title: str, default_lang: str):
    """One language's uploader, its language and its text column; returns (documents, language,
    file name, counted Stats or None, counted whole) or None."""
    st.markdown(safe("**{t}**", t=title))
    f = st.file_uploader("CSV, Excel (.xlsx) or JSON, one document per row", type=TYPES,
                         key=f"tro_file_{side}", max_upload_size=T.UPLOAD_MB, help=T.LIMIT_TEXT)
    langs = list(O.LANG_NAMES)
    lang = st.selectbox("Its language", langs, index=langs.index(default_lang),
                        format_func=lambda k: O.LANG_NAMES[k].capitalize(), key=f"tro_lang_{side}")
    if f is None:
        return None
    data = f.getvalue()
    try:
        table = _read(data, f.name)
    except T.TableError as exc:
        st.error(md(str(exc)))
        return None
    df = table.df
    df.columns = [str(c) for c in df.columns]
    if df.empty or not len(df.columns):
        st.error(safe("{n} has no rows.", n=f.name))
        return None
    digest = hashlib.sha1(data).hexdigest()[:12]
    cols = O.text_columns(df)
    column = st.selectbox("Text column", cols, key=f"tro_col_{side}_{digest}")
    docs, dropped = O.documents(df, column)
    if dropped:
        st.caption(safe("Only the first {m:,} rows are used ({d:,} more were left out).",
                        m=O.MAX_DOCS, d=dropped))
    s, whole = _count(digest, column, lang, tuple(docs))
    if whole and s.n_tokens > O.MAX_TOKENS:
        st.caption(safe("The job uses the rows of its first {m:,} words (a pass of word2vec "
                        "over more would keep Stop waiting).", m=O.MAX_TOKENS))
    enc = f" ({table.encoding})" if table.encoding else ""
    what = "" if whole else f" in its first {CHECK_CHARS:,} characters"
    st.caption(safe("{rows:,} rows read as {kind}{enc}; {docs:,} with text. Words{what}: "
                    "{tok:,} in all, {dist:,} distinct, {keep:,} seen {mc} times or more (the "
                    "ones that get a vector).", rows=len(df), kind=table.kind, enc=enc,
                    docs=len(docs), what=what, tok=s.n_tokens, dist=s.n_distinct,
                    keep=s.n_words, mc=R.W2V["min_count"]))
    return docs, lang, f.name, s, whole


def upload_form() -> None:
    """Two files, their sizes against the smallest that aligns, and Start."""
    shown = training.job_panel(KEY, ["objective"], title="Self-learning objective",
                               y_title="mean best cosine (higher is better)", preview_caption="")
    job = training.current_job(KEY)
    if shown and job is not None and job.active:
        st.caption("Word vectors are learnt for each file first (the bar waits meanwhile); "
                   "then each step is one self-learning iteration. The result appears here "
                   "when the job ends.")
        return
    st.write("Upload two files of ordinary text, one in each language, about similar things "
             "(they need not be translations of each other). Each file's words get vectors of "
             "their own; Vecmap then rotates one set onto the other without a dictionary.")
    c = st.columns(3)
    c[0].caption("No files at hand? Try the built-in listings:")
    for col, lang in zip(c[1:], ("th", "en")):
        col.download_button(safe("{n:,} {name} listings (CSV)", n=SAMPLE_N,
                                 name=O.LANG_NAMES[lang].capitalize()),
                            data=lambda lang=lang: _sample_csv(lang),
                            file_name=f"listings-{lang}.csv", mime="text/csv",
                            on_click="ignore", key=f"tro_sample_{lang}",
                            icon=":material/download:")
    left, right = st.columns(2)
    with left:
        a = _one_file("src", "Language 1 (translated from)", "th")
    with right:
        b = _one_file("tgt", "Language 2 (translated into)", "en")
    if a is None or b is None:
        st.info("Upload both files to align them.")
        return
    why = O.too_small(a[3], b[3])
    if why and a[4] and b[4]:
        st.error(join(" ", [safe("Too small to align:"), *(md(w) for w in why),
                            _curve_text(), safe("Add more text.")]))
        return
    if why:  # counted on a part only: the job counts the whole file and stops if it is short
        st.caption(safe("Part of a file was counted; the job counts all of it (up to its "
                        "first {m:,} words) before it aligns.", m=O.MAX_TOKENS))
    steps = int(st.number_input("Self-learning iterations", 10, 5_000, O.STEPS, step=50,
                                key="tro_steps"))
    if st.button("Align my files", type="primary", icon=":material/play_arrow:",
                 key="tro_start", disabled=bool(job is not None and job.active)):
        label = f"{a[2]} ↔ {b[2]}"
        try:
            spec = O.training_spec(a[0], b[0], langs=(a[1], b[1]), label=label, steps=steps)
        except (ValueError, OSError) as exc:
            st.error(md(str(exc)))
            return
        if training.start(KEY, lambda: spec):
            st.rerun()


# -- a finished run ---------------------------------------------------------------------------------
def own_runs() -> list[checkpoints.Entry]:
    return [e for e in checkpoints.list_models(R.KIND_VECMAP) if O.is_own(e)]


@st.cache_resource(max_entries=2, show_spinner=False)
def _prepared(path: str, mtime: float):
    from unsup.ui.models import load_model

    model = load_model(path, mtime)
    X, Y = R.tables(model)
    W = model.W.detach().float()
    words = R.words_of(model)
    pairs = [(a, b) for a, b in O.mutual_pairs(model, W) if a < LIMIT and b < LIMIT]
    return {"X": X, "Y": Y, "W": W, "words": words, "pairs": pairs,
            "table": R.translation_table(model, W, k=5, limit=LIMIT),
            "data": dict(model.card_.get("data") or {})}


def _names(data: dict) -> tuple[str, str]:
    langs = data.get("langs") or ["", ""]
    return tuple(O.LANG_NAMES.get(x, x).capitalize() for x in langs)  # type: ignore[return-value]


def results() -> None:
    runs = own_runs()
    if not runs:
        return
    st.markdown("**Your alignments**")
    training.resume_from_disk(KEY, runs, lambda path, more: O.training_spec(
        steps=int(more), resume=path), default=100, step=50)
    entry = pick_entry("Alignment of your own text", runs, "tro_pick")
    if entry is None or model_of(entry) is None:
        return
    prep = _prepared(str(entry.path), entry.mtime)
    data = prep["data"]
    a, b = _names(data)
    sizes = data.get("sizes") or {}
    rows = [{"file": n, "language": lang, "rows with text": s.get("n_docs"),
             "words": s.get("n_tokens"), "words with a vector": len(w)}
            for n, lang, s, w in (("1", a, sizes.get("src") or {}, prep["words"][0]),
                                  ("2", b, sizes.get("tgt") or {}, prep["words"][1]))]
    tables.show(pd.DataFrame(rows), key="tro_sizes")
    m = (entry.card or {}).get("metrics") or {}
    x = m.get("extra_metrics") or {}
    bits = [safe("Self-learning objective {o:.3f} (the mean best cosine of a word's "
                 "translation both ways, 0–1; **higher is better**, but it is no accuracy: "
                 "small corpora score high too); {p:,} mutual nearest-neighbour pairs in the "
                 "induced dictionary.", o=float(x.get("objective", m.get("objective", 0.0))),
                 p=int(x.get("pairs", m.get("dictionary_pairs", 0))))]
    lex = x.get("lexicon")
    if lex:
        bits.append(safe("Against the built-in Thai–English lexicon ({n} of its words are in "
                         "both vocabularies): precision@1 **{p1:.1%}**, @5 {p5:.1%} (higher is "
                         "better).", n=lex["n"], p1=lex["p1"], p5=lex["p5"]))
    else:
        bits.append(safe("There is no dictionary for these files, so no accuracy is shown: "
                         "read the pairs below and judge them."))
    st.caption(join(" ", bits))
    if len(prep["pairs"]) < 3:
        st.warning(safe("The alignment found only {n} mutual pairs: there is nothing to draw.",
                        n=len(prep["pairs"])))
        return
    from unsup.ui import translation as ui

    t = st.slider(safe("Alignment: 0 = {a} vectors as learnt, 1 = rotated by the map", a=a),
                  0.0, 1.0, 1.0, 0.1, key="tro_t")
    fig, cos0, cos_t = ui.cloud(prep, t, names=(a, b))
    st.plotly_chart(fig, key="tro_cloud")
    st.caption(safe("The 30 most frequent words of file 1 that the induced dictionary pairs, "
                    "each joined to its pair in file 2. Mean cosine over all {n:,} pairs "
                    "(higher is better): {c0:.3f} as learnt, {ct:.3f} at this slider "
                    "position.", n=len(prep["pairs"]), c0=cos0, ct=cos_t))
    _lookup(prep, a, b)


def _lookup(prep: dict, a: str, b: str) -> None:
    st.markdown("**A word's nearest neighbours in the other language**")
    way = st.radio("Look up", [f"{a} → {b}", f"{b} → {a}"], horizontal=True, key="tro_dir")
    key = "th-en" if way.startswith(a) else "en-th"
    words = prep["words"][0 if key == "th-en" else 1][:300]
    word = st.selectbox("Word (most frequent first)", words, key=f"tro_word_{key}")
    rows = [{"rank": i + 1, "candidate": c, "cosine": cos}
            for i, (c, cos) in enumerate(prep["table"][key].get(word, []))]
    tables.show(pd.DataFrame(rows), key=f"tro_nn_{key}")
    data = prep["data"]
    langs = data.get("langs") or ["th", "en"]
    src_lang = langs[0] if key == "th-en" else langs[1]
    text = st.text_area("Translate a text word by word", "", key=f"tro_text_{key}",
                        max_chars=2_000, height=90)
    toks = O.tokens(text, src_lang)
    if not toks:
        st.caption("Type or paste a text in the first language of the direction above.")
        return
    known = set(prep["table"][key])
    unknown = sorted({t for t in toks if t not in known and not R.is_number(t)})
    if unknown:
        st.warning(join(" ", [safe("Words without a vector among the {n:,} most frequent "
                                   "(copied as they are):", n=LIMIT),
                              md(", ".join(unknown[:20]))]))
    out = R.word_by_word(toks, prep["table"][key])
    st.markdown(join(" ", [safe("**Word by word:**"), md(" ".join(out))]))


def own_text_section() -> None:
    st.subheader("Your own text")
    st.caption("The same method on two files of your own: word vectors for each, then a "
               "rotation found without a dictionary. A corpus too small to align is refused "
               "with its numbers.")
    upload_form()
    results()
