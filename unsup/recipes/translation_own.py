"""Your own text on the translation page: two monolingual files (one language each, CSV / Excel /
JSON with a text column, read as the topic page reads its listings) -> tokens -> skip-gram
word2vec per language -> a Vecmap alignment without a dictionary, as a background job.

A corpus too small to align is refused before any training, with its numbers: the documents,
the tokens and the words word2vec keeps (seen at least ``W2V["min_count"]`` times) of each file,
against the smallest sizes at which the built-in listings still aligned (:data:`MIN_WORDS`,
:data:`MIN_TOKENS`; measured by ``bench/bench_translation.py``, which writes the curve of
precision@1 against corpus size to ``bench/RESULTS.md``).

There is no dictionary for an arbitrary pair of languages, so a run on your own text is judged
by what needs none: Vecmap's self-learning objective (the mean best cosine of its dictionary,
both ways) and how many mutual nearest-neighbour pairs it finds. When the two files are Thai and
English, the page also scores the run against the built-in lexicon, on the lexicon words both
vocabularies know (when there are at least :data:`MIN_LEXICON` of them).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

import torch

from unsup.models import align as A
from unsup.recipes import translation as R
from unsup.recipes.translation import (  # noqa: F401 - the pipeline's steps, used by name here
    CURVE_SIZES, MIN_LEXICON, Stats, align, lexicon_scores, objective, size_curve, stats, tokens,
    vectors)

LANG_NAMES = {"th": "Thai", "en": "English", "other": "another language"}
"""The languages a file can be in: Thai (cut into words by PyThaiNLP's newmm), English, or any
language whose words are separated by spaces."""

MIN_TOKENS = 30_000
"""The fewest tokens a file needs (see :func:`too_small`): on the built-in listings, the sizes
of :func:`size_curve` below it scored precision@1 under 30% (most translations wrong), the next
one above it over 40% (a test holds the shipped card's curve to this)."""
MIN_WORDS = 300
"""The fewest distinct words seen ``min_count`` times a file needs (see :func:`too_small`)."""
MIN_DOCS = 20
"""The fewest non-empty documents (rows) a file needs."""
MAX_DOCS = 200_000
"""Rows past this many are left out (and the page says so): word2vec's time grows with them."""
MAX_TOKENS = 1_000_000
"""A file's rows past its first million words are left out by the job: a word2vec pass over a
million words takes about 2.5 s, the longest a Stop may wait (20,000 built-in listings, 0.8
million words, took 20 s for 10 passes)."""
STEPS = R.OWN_STEPS
TEXTS_FILE = "texts.json.gz"

def text_columns(df) -> list[str]:
    """The columns that hold text, the likeliest first (the longest mean text among the
    text-like ones; then every other column, for a file the guess gets wrong)."""
    from unsup.data import tables as T

    scored = []
    for c in df.columns:
        s = df[c]
        if T.is_text_like(s):
            scored.append((-float(s.dropna().astype(str).str.len().mean() or 0.0), str(c)))
    first = [c for _, c in sorted(scored)]
    return first + [str(c) for c in df.columns if str(c) not in first]


def documents(df, column: str) -> tuple[list[str], int]:
    """(the column's non-empty texts, at most :data:`MAX_DOCS`; how many rows were left out)."""
    s = df[column].dropna().astype(str).str.strip()
    docs = [t for t in s.tolist() if t]
    dropped = max(0, len(docs) - MAX_DOCS)
    return docs[:MAX_DOCS], dropped


def too_small(*files: Stats) -> list[str]:
    """Why these files cannot be aligned (empty when they can), each reason with its numbers."""
    out = []
    mc = R.W2V["min_count"]
    for s in files:
        name = LANG_NAMES.get(s.lang, s.lang)
        short = []
        if s.n_docs < MIN_DOCS:
            short.append(f"{s.n_docs:,} non-empty rows (at least {MIN_DOCS:,} are needed)")
        if s.n_tokens < MIN_TOKENS:
            short.append(f"{s.n_tokens:,} words in all (at least {MIN_TOKENS:,} are needed)")
        if s.n_words < MIN_WORDS:
            short.append(f"{s.n_words:,} distinct words seen {mc} times or more (at least "
                         f"{MIN_WORDS:,} are needed)")
        if short:
            out.append(f"The {name} file has " + "; ".join(short) + ".")
    return out


def texts_digest(src: Sequence[str], tgt: Sequence[str]) -> str:
    h = hashlib.sha256()
    for docs in (src, tgt):
        for d in docs:
            h.update(d.encode("utf-8", "replace"))
            h.update(b"\x00")
        h.update(b"\x01")
    return h.hexdigest()[:16]


def save_texts(run_dir: Path, src: Sequence[str], tgt: Sequence[str], meta: dict) -> str:
    """Keep the uploaded texts with the run (nothing the user gave is lost); returns their
    hash."""
    from unsup import fileio

    digest = texts_digest(src, tgt)
    blob = json.dumps({"sha": digest, "meta": meta, "src": list(src), "tgt": list(tgt)},
                      ensure_ascii=False).encode()
    fileio.atomic_write_bytes(Path(run_dir) / TEXTS_FILE, gzip.compress(blob, 6))
    return digest


def cut(texts: Sequence[str], lang: str, job=None, name: str = "the file"
        ) -> list[list[str]]:
    """Every text's words (:func:`tokens`), stopping once :data:`MAX_TOKENS` are in; ``job``
    (optional) is asked for Stop and shown the progress every 500 texts."""
    out, n = [], 0
    for i, t in enumerate(texts):
        if job is not None and i % 500 == 0:
            job.phase(f"cutting {name} into words: {i:,} of {len(texts):,} rows")
        words = tokens(t, lang)
        out.append(words)
        n += len(words)
        if n >= MAX_TOKENS:
            break
    return out


def mutual_pairs(model, W: torch.Tensor | None = None, n: int | None = None
                 ) -> list[tuple[int, int]]:
    """The induced dictionary a run ends with: mutual CSLS nearest neighbours, as (source row,
    target row), the most frequent source words first (at most ``n``)."""
    X, Y = R.tables(model)
    W = model.W.detach().float() if W is None else W
    d = A.induce_dictionary(X @ W, Y, method="csls", mutual=True)
    pairs = sorted((int(a), int(b)) for a, b in d.tolist())
    return pairs if n is None else pairs[:n]


def finish(model, check=lambda: None) -> dict[str, Any]:
    """What a run on your own text measures: its objective, the size of its induced
    dictionary, and (Thai and English files) precision against the lexicon."""
    check()
    W = model.W.detach().float()
    out: dict[str, Any] = {"objective": round(objective(model), 4),
                           "pairs": len(mutual_pairs(model, W)),
                           "criterion": round(A.mean_cosine_criterion(*R.tables(model), W), 4)}
    check()
    lex = lexicon_scores(model, W)
    out["lexicon"] = lex
    metrics: dict[str, Any] = {"objective": out["objective"], "dictionary_pairs": out["pairs"]}
    if lex is not None:
        metrics["p1"] = lex["p1"]
    return {**metrics, "extra_metrics": out}


def training_spec(src: Sequence[str] | None = None, tgt: Sequence[str] | None = None, *,
                  langs: tuple[str, str] = ("th", "en"), label: str = "your own text",
                  steps: int = STEPS, seed: int = 0, owner: str = "", resume=None):
    """A job that aligns two uploaded monolingual corpora (``src``, ``tgt``: one text per
    document) with Vecmap: tokens and word2vec inside the job (a corpus too small to align
    fails it with the numbers), then ``steps`` self-learning iterations. The texts are kept in
    the run's folder. ``resume``: a run to continue (its vectors are in its checkpoint)."""
    from unsup.jobs import fresh_run_dir
    from unsup.recipes import runs

    run = runs.plan(resume, data="own-text", images=None, label=None, check=lambda x: None)
    meta = {"langs": list(langs), "label": label}
    if run.resume is None:
        if not src or not tgt:
            raise ValueError("Two files are needed: one in each language.")
        with fresh_run_dir(f"align-{label}") as run_dir:  # the texts are written by the job
            pass
        run.run_dir = run_dir
    loaded: dict[str, Any] = {}

    def load(job):
        if run.resume is not None:
            return None
        job.phase("keeping your texts with the run")  # compressing megabytes: not on the page
        digest = save_texts(run.run_dir, src, tgt, meta)
        docs = [cut(texts, lang, job, f"file {i + 1}")
                for i, (texts, lang) in enumerate(((src, langs[0]), (tgt, langs[1])))]
        sizes = [stats(d, lang) for d, lang in zip(docs, langs)]
        why = too_small(*sizes)
        if why:
            raise ValueError(" ".join(why))
        vs = []
        for i, (d, lang) in enumerate(zip(docs, langs)):
            job.phase(f"learning the word vectors of file {i + 1} (word2vec, "
                      f"{R.W2V['epochs']} passes)")
            vs.append(vectors(d, lang, check=job.check))
        card = R.vectors_card(vs[0], vs[1], name="own-text", n=0)
        card.update(label=label, langs=list(langs), sha=digest, file=TEXTS_FILE,
                    n_train={"src": len(docs[0]), "tgt": len(docs[1])},
                    sizes={k: s.as_dict() for k, s in zip(("src", "tgt"), sizes)})
        # vectors_card names its vocabularies by language; two files in one language need
        # their own keys, so the words are kept as source / target too
        card["words"] = {R.SRC: list(vs[0].words), R.TGT: list(vs[1].words)}
        card["counts"] = {R.SRC: list(vs[0].counts), R.TGT: list(vs[1].counts)}
        loaded["card"] = card
        return torch.from_numpy(vs[0].vectors), torch.from_numpy(vs[1].vectors)

    def model(xy):
        X, Y = xy
        cfg = {**R.VECMAP, "seed": int(seed), "n_src": len(X), "n_tgt": len(Y)}
        m = R.new_aligner(R.KIND_VECMAP, cfg, X, Y, normalized=False)
        m.card_ = {"data": loaded.get("card", {})}
        return m

    def done(m, job):
        job.phase("measuring the alignment")
        return finish(m, check=job.check)

    title = f"Vecmap alignment of {label}, {steps:,} steps"
    return run.spec(title=title, model=model, load=load,
                    reading="cutting the texts into words and learning word vectors (word2vec)",
                    data_card=lambda xy: dict(loaded.get("card", {})),
                    fed=lambda m, xy: torch.zeros(1_024, 1), steps=int(steps),
                    page="translation", owner=owner, checkpoint_every=max(25, steps // 10),
                    finish=done, again=lambda path, more: training_spec(
                        steps=int(more), resume=path, owner=owner))


def is_own(entry_or_card) -> bool:
    """Whether an aligner (an entry or its card) was trained on your own text."""
    card = getattr(entry_or_card, "card", entry_or_card) or {}
    return (card.get("data") or {}).get("name") == "own-text"
