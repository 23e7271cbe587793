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
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from unsup.models import align as A
from unsup.recipes import translation as R

LANG_NAMES = {"th": "Thai", "en": "English", "other": "another language"}
"""The languages a file can be in: Thai (cut into words by PyThaiNLP's newmm), English, or any
language whose words are separated by spaces."""

MIN_TOKENS = 30_000
"""The fewest tokens a file needs (see :func:`too_small`): on the built-in listings, the sizes
of :func:`size_curve` below it scored precision@1 under 30% (most translations wrong), the next
one above it over 40% (a test holds the shipped card's curve to this)."""
MIN_WORDS = 300
"""The fewest distinct words seen ``min_count`` times a file needs (see :func:`too_small`)."""
CURVE_SIZES = (100, 250, 500, 1_000, 2_000, 4_000)
"""Listings per language of :func:`size_curve`."""
MIN_DOCS = 20
"""The fewest non-empty documents (rows) a file needs."""
MAX_DOCS = 200_000
"""Rows past this many are left out (and the page says so): word2vec's time grows with them."""
MAX_TOKENS = 1_000_000
"""A file's rows past its first million words are left out by the job: a word2vec pass over a
million words takes about 2.5 s, the longest a Stop may wait (20,000 built-in listings, 0.8
million words, took 20 s for 10 passes)."""
MIN_LEXICON = 20
"""Lexicon words both vocabularies must know before a Thai/English run is scored against it."""
STEPS = 300
"""Self-learning iterations of a run on your own text (it stops changing long before)."""
TEXTS_FILE = "texts.json.gz"

_WORD = re.compile(r"[^\W_]+(?:['’\-.,][^\W_]+)*")
_THAI = re.compile(r"[\u0E00-\u0E7F]")


def tokens(text: str, lang: str) -> list[str]:
    """The words of one document: Thai cut by newmm (Latin words in it lowercased), every other
    language split into runs of letters and digits, lowercased. Punctuation is dropped."""
    from unsup.text import raw_tokens

    text = "" if text is None else str(text)
    if lang == "th" or _THAI.search(text):
        return [t for t in raw_tokens(text) if _WORD.fullmatch(t) or _THAI.match(t)]
    return [m.group(0).lower() for m in _WORD.finditer(text)]


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


@dataclass(frozen=True)
class Stats:
    """What a file gives word2vec: documents, tokens, distinct words, and the words it keeps
    (seen at least ``min_count`` times)."""

    lang: str
    n_docs: int
    n_tokens: int
    n_distinct: int
    n_words: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def stats(token_docs: Sequence[Sequence[str]], lang: str) -> Stats:
    counts = Counter(t for d in token_docs for t in d)
    keep = sum(1 for c in counts.values() if c >= R.W2V["min_count"])
    return Stats(lang, sum(1 for d in token_docs if d), sum(counts.values()), len(counts), keep)


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


def vectors(docs: Sequence[Sequence[str]], lang: str, seed: int = R.W2V_SEED,
            check=None) -> R.Vectors:
    """Word2vec of one file; ``check()`` (a job's Stop) is called after every pass over it, so
    a Stop takes effect within one pass (:data:`MAX_TOKENS` words keep a pass short)."""
    if check is None:
        return R.train_word2vec(docs, lang, seed=seed)
    from gensim.models.callbacks import CallbackAny2Vec

    class _Stop(CallbackAny2Vec):
        def on_epoch_end(self, model):
            check()

    return R.train_word2vec(docs, lang, seed=seed, callbacks=[_Stop()])


def lexicon_scores(model, W: torch.Tensor | None = None) -> dict[str, Any] | None:
    """Precision@1/@5 against the built-in Thai-English lexicon (in the files' direction) on
    the lexicon words both vocabularies know (None when fewer than :data:`MIN_LEXICON`, or not
    Thai and English)."""
    from unsup.data import bilingual as B

    data = model.card_.get("data") or {}
    langs = tuple(data.get("langs") or ())
    if langs not in (("th", "en"), ("en", "th")):
        return None
    X, Y = R.tables(model)
    sw, tw = R.words_of(model)
    W = model.W.detach().float() if W is None else W
    known = set(tw)
    truth = {w: t for w, t in B.truth("-".join(langs)).items() if any(x in known for x in t)}
    if sum(1 for w in sw if w in truth) < MIN_LEXICON:
        return None
    return R._p(R.precision(W, X, Y, sw, tw, truth))


def mutual_pairs(model, W: torch.Tensor | None = None, n: int | None = None
                 ) -> list[tuple[int, int]]:
    """The induced dictionary a run ends with: mutual CSLS nearest neighbours, as (source row,
    target row), the most frequent source words first (at most ``n``)."""
    X, Y = R.tables(model)
    W = model.W.detach().float() if W is None else W
    d = A.induce_dictionary(X @ W, Y, method="csls", mutual=True)
    pairs = sorted((int(a), int(b)) for a, b in d.tolist())
    return pairs if n is None else pairs[:n]


def objective(model) -> float:
    """Vecmap's self-learning objective where the run stands (the mean best cosine both ways;
    higher is better)."""
    last, best = float(model.state[5]), float(model.state[2])
    return best if last != last else last


def align(src_docs: Sequence[Sequence[str]], tgt_docs: Sequence[Sequence[str]],
          langs: tuple[str, str] = ("th", "en"), steps: int = STEPS, seed: int = 0):
    """The whole pipeline on tokenized documents, in this thread (the bench's size curve and
    the tests; the page runs it as a job): word2vec per language, then Vecmap for ``steps``
    iterations or until it converges. Returns the aligner, its card's data on ``card_``."""
    vs = [vectors(d, lang) for d, lang in zip((src_docs, tgt_docs), langs)]
    X, Y = (torch.from_numpy(v.vectors) for v in vs)
    cfg = {**R.VECMAP, "seed": int(seed), "n_src": len(X), "n_tgt": len(Y)}
    m = R.new_aligner(R.KIND_VECMAP, cfg, X, Y, normalized=False)
    m.card_ = {"data": {"name": "own-text", "langs": list(langs),
                        "words": {R.SRC: list(vs[0].words), R.TGT: list(vs[1].words)}}}
    batch = torch.zeros(1, 1)
    for i in range(int(steps)):
        m.step_ = i
        m.train_step(batch)
        if m.converged:
            break
    return m


def size_curve(check=lambda: None) -> list[dict[str, Any]]:
    """Precision@1/@5 against the lexicon of this pipeline (the page's tokens, word2vec, Vecmap
    for :data:`STEPS` iterations) on the first ``n`` built-in listings of each language, for each
    ``n`` of :data:`CURVE_SIZES`, with each corpus's size: how small is too small. About 45 s;
    the shipped Vecmap alignment's card keeps it."""
    from unsup.data import bilingual as B

    rows = []
    for n in CURVE_SIZES:
        check()
        docs = {lang: [tokens(B.to_text(d, lang), lang) for d in B.corpus(lang, n)]
                for lang in R.LANGS}
        sizes = {lang: stats(docs[lang], lang) for lang in R.LANGS}
        m = align(docs[R.SRC], docs[R.TGT])
        lex = lexicon_scores(m) or {"p1": None, "p5": None, "n": 0}
        rows.append({"listings": n, "p1": lex["p1"], "p5": lex["p5"], "n": lex["n"],
                     "tokens": {k: v.n_tokens for k, v in sizes.items()},
                     "words": {k: v.n_words for k, v in sizes.items()},
                     "objective": round(objective(m), 4)})
    return rows


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
        with fresh_run_dir(f"align-{label}") as run_dir:
            digest = save_texts(run_dir, src, tgt, meta)
        run.run_dir = run_dir
    loaded: dict[str, Any] = {}

    def load(job):
        if run.resume is not None:
            return None
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
