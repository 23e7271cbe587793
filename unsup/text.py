"""Tokenization of Thai, English and mixed listing texts, and the document-term vocabulary.

Thai has no spaces between words, so Thai runs go through PyThaiNLP's dictionary-based ``newmm``
tokenizer (maximal matching over the Thai Character Cluster boundaries); Latin runs are lowercased
and split on letters. Stopwords: PyThaiNLP's Thai list minus :data:`THAI_KEEP` (words such as
ใกล้ ใหม่ สูง กว้าง ใหญ่ that carry meaning in a listing), plus a short English list, plus the
user's own. Tokens of digits or punctuation, and one-letter tokens, are dropped.

Listings repeat their phrases a lot, so tokenization is memoised per whitespace-separated chunk:
a 100,000-listing corpus costs little more than its distinct chunks.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable

import numpy as np

THAI_KEEP = frozenset("""ใกล้ ใหม่ สูง กว้าง ใหญ่ เปิด ขึ้น ครบ ติด ดี ถึง เยอะ หลาย ส่วนตัว
ตลอด ต่ำ ล่าง บน""".split())
"""Words in PyThaiNLP's stopword list that carry meaning in listings, so they are kept."""

ENGLISH_STOPWORDS = frozenset("""a about above after again against all also am an and any are as
at be because been before being below between both but by can could did do does doing down during
each few for from further had has have having he her here hers herself him himself his how i if in
into is it its itself just me more most my myself no nor not now of off on once only or other our
ours ourselves out over own same she should so some such than that the their theirs them themselves
then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself yourselves featuring plus s t
per via get got etc""".split())

_THAI = re.compile(r"[\u0E00-\u0E7F]+")
_PIECE = re.compile(r"[\u0E00-\u0E7F]+|[A-Za-z][A-Za-z0-9'\-]*|[0-9]+(?:[.,][0-9]+)*|\S")
_CHUNK = re.compile(r"\S+")


def _thai_setup() -> None:
    """Point PyThaiNLP at a writable data folder and keep it offline (before importing it)."""
    if "PYTHAINLP_DATA_DIR" not in os.environ:
        from unsup.paths import cache_dir

        os.environ["PYTHAINLP_DATA_DIR"] = str(cache_dir() / "pythainlp")
    os.environ.setdefault("PYTHAINLP_OFFLINE", "1")


@lru_cache(maxsize=1)
def thai_stopwords() -> frozenset[str]:
    _thai_setup()
    from pythainlp.corpus import thai_stopwords as _sw

    return frozenset(_sw()) - THAI_KEEP


@lru_cache(maxsize=1)
def _newmm():
    _thai_setup()
    from pythainlp.tokenize import word_tokenize

    def cut(s: str) -> list[str]:
        return word_tokenize(s, engine="newmm", keep_whitespace=False)

    return cut


@lru_cache(maxsize=200_000)
def _chunk_tokens(chunk: str) -> tuple[str, ...]:
    """Every token of a whitespace-free chunk (Thai words, lowercased Latin words, digits,
    punctuation), unfiltered."""
    out: list[str] = []
    for m in _PIECE.finditer(chunk):
        s = m.group(0)
        if _THAI.fullmatch(s):
            out.extend(t for t in _newmm()(s) if t.strip())
        else:
            out.append(s.lower())
    return tuple(out)


def raw_tokens(text: str) -> list[str]:
    """All tokens of ``text`` in order, stopwords included (for the document view)."""
    out: list[str] = []
    for m in _CHUNK.finditer(str(text)):
        out.extend(_chunk_tokens(m.group(0)))
    return out


@dataclass(frozen=True)
class TextConfig:
    """How texts become tokens and which tokens make the vocabulary."""

    extra_stopwords: tuple[str, ...] = ()  # the user's own stopwords (any language)
    min_df: int = 3  # keep words found in at least this many documents
    max_df: float = 0.5  # ... and in at most this fraction of them
    min_len: int = 2  # drop tokens shorter than this (characters)

    def stopwords(self) -> frozenset[str]:
        extra = frozenset(w.strip().lower() for w in self.extra_stopwords if w.strip())
        return thai_stopwords() | ENGLISH_STOPWORDS | extra


def keep_token(tok: str, stop: frozenset[str], min_len: int = 2) -> bool:
    """A token worth modelling: not a stopword, not a number or punctuation, long enough."""
    if len(tok) < min_len or tok in stop:
        return False
    c = tok[0]
    return c.isalpha() or "\u0E00" <= c <= "\u0E7F"


def tokenize(text: str, config: TextConfig = TextConfig()) -> list[str]:
    """The modelled tokens of one text: Thai via newmm, English lowercased, stopwords dropped."""
    stop = config.stopwords()
    return [t for t in raw_tokens(text) if keep_token(t, stop, config.min_len)]


def tokenize_all(texts: Iterable[str], config: TextConfig = TextConfig(),
                 on_progress=None) -> list[list[str]]:
    """:func:`tokenize` for many texts (``on_progress(i, n)`` every 2,000 texts)."""
    texts = list(texts)
    stop = config.stopwords()
    ml = config.min_len
    memo: dict[str, list[str]] = {}
    out = []
    for i, text in enumerate(texts):
        toks: list[str] = []
        for m in _CHUNK.finditer("" if text is None else str(text)):
            c = m.group(0)
            kept = memo.get(c)
            if kept is None:
                kept = [t for t in _chunk_tokens(c) if keep_token(t, stop, ml)]
                if len(memo) < 500_000:
                    memo[c] = kept
            toks.extend(kept)
        out.append(toks)
        if on_progress is not None and i % 2000 == 0:
            on_progress(i, len(texts))
    return out


@dataclass
class Corpus:
    """Documents as word ids over a vocabulary.

    ``docs[d]`` is an int32 array of word ids (in text order, out-of-vocabulary words removed);
    ``vocab[i]`` the word of id i; ``df[i]`` its document frequency in the corpus it was built on.
    """

    vocab: list[str]
    docs: list[np.ndarray]
    df: np.ndarray
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        if not self.index:
            self.index = {w: i for i, w in enumerate(self.vocab)}

    @property
    def n_words(self) -> int:
        return len(self.vocab)

    def counts(self):
        """The document-term count matrix, scipy CSR (n_docs, n_words)."""
        from scipy import sparse

        indptr = np.zeros(len(self.docs) + 1, np.int64)
        indptr[1:] = np.cumsum([len(d) for d in self.docs])
        ind = np.concatenate(self.docs) if self.docs else np.zeros(0, np.int32)
        X = sparse.csr_matrix((np.ones(len(ind), np.float64), ind, indptr),
                              shape=(len(self.docs), self.n_words))
        X.sum_duplicates()
        return X

    def encode(self, tokens: list[list[str]]) -> list[np.ndarray]:
        """Token lists as id arrays over this vocabulary (unknown words dropped)."""
        ix = self.index
        return [np.array([ix[t] for t in doc if t in ix], np.int32) for doc in tokens]


def build_corpus(tokens: list[list[str]], config: TextConfig = TextConfig()) -> Corpus:
    """Choose the vocabulary (``min_df`` <= document frequency <= ``max_df`` * n_docs) and encode
    the documents. Words are ordered by decreasing document frequency, then alphabetically."""
    df = Counter()
    for doc in tokens:
        df.update(set(doc))
    n = max(1, len(tokens))
    hi = config.max_df * n if config.max_df <= 1 else config.max_df
    words = sorted((w for w, c in df.items() if config.min_df <= c <= hi),
                   key=lambda w: (-df[w], w))
    corpus = Corpus(vocab=words, docs=[], df=np.array([df[w] for w in words], np.int64))
    corpus.docs = corpus.encode(tokens)
    return corpus
