"""Topic models: LDA (collapsed Gibbs sampling, :mod:`unsup.models.gibbs`), HDP (tomotopy) to
suggest K, and pLSA by EM.

The lecture's picture: each topic z is a word distribution beta_z = P(w | z); each document d a
mixture theta_d = P(z | d); every word first picks a topic from theta_d, then a word from that
topic's beta. pLSA fits theta and beta by maximum likelihood (EM); LDA puts Dirichlet priors on
both (alpha on theta, eta on beta), which ties the documents together and stops the overfitting
pLSA shows on held-out documents. HDP (Teh et al. 2006) is the Chinese-restaurant-process version:
a new topic ("table") opens with probability proportional to a concentration parameter, so the
number of topics is learnt.

Training follows the one learner contract: :class:`PLSA` and :class:`LDA` are
:class:`unsup.models.base.Model` learners (buffers only) whose ``train_step`` is one EM iteration or
one block of Gibbs sweeps; :func:`unsup.train.fit` trains them and :mod:`unsup.checkpoints` saves
and loads them (safetensors + card, no pickle). A fitted model, what the page reads, is a
:class:`TopicModel` (``learner.topic_model()``): vocabulary, topic-word matrix, prior, training
documents' mixes. Older fits were saved as one ``.npz`` (plain arrays, read with
``allow_pickle=False``) plus a JSON card; :func:`load` and :func:`from_bytes` still read those.
Folding-in (:meth:`TopicModel.transform`) gives the mix of any new text under fixed topics.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np
import torch
from scipy import sparse

from unsup.models.base import Model, register

from unsup.text import Corpus, TextConfig, build_corpus, tokenize, tokenize_all

KIND = "topics"
FORMAT = "unsup-topics/1"
MAX_MODEL_BYTES = 100 * 1024 * 1024


class TopicModelError(ValueError):
    """A file that is not a usable topic model; the message is meant for the user."""


@dataclass(frozen=True)
class TopicConfig:
    """Everything that decides a topic fit (the same config and corpus give the same topics)."""

    n_topics: int = 10  # K, the number of topics
    method: str = "lda"  # "lda" (collapsed Gibbs) or "plsa" (EM, no priors)
    alpha: float = 0.1  # LDA: symmetric Dirichlet prior on each document's mix (then optimised)
    eta: float = 0.01  # LDA: symmetric Dirichlet prior on each topic's word distribution
    iterations: int = 150  # Gibbs sweeps (LDA) or EM steps (pLSA)
    optimize_alpha: bool = True  # LDA: re-estimate an asymmetric alpha every 10 sweeps (Minka)
    seed: int = 0  # random seed
    workers: int = 1  # unused since LDA's sampler is unsup's own (one thread, reproducible);
    #                  kept so that earlier configs and cards still read
    n_init: int = 0  # LDA: chains started (seeds seed, seed+1, ...); the most likely one after
    #                  init_sweeps is kept. 0 = auto: 4 up to 50,000 documents, else 1
    init_sweeps: int = 60  # LDA: sweeps of each starting chain (part of ``iterations``)
    text: TextConfig = field(default_factory=TextConfig)  # tokenization and vocabulary

    @classmethod
    def tiny(cls) -> "TopicConfig":
        """A seconds-long config for tests."""
        return cls(n_topics=4, iterations=40, text=TextConfig(min_df=2))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["text"]["extra_stopwords"] = list(self.text.extra_stopwords)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TopicConfig":
        d = dict(d or {})
        text = dict(d.pop("text", {}) or {})
        text["extra_stopwords"] = tuple(text.get("extra_stopwords", ()))
        known = {f for f in cls.__dataclass_fields__}
        tk = {f for f in TextConfig.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known},
                   text=TextConfig(**{k: v for k, v in text.items() if k in tk}))


# -- the fitted model ---------------------------------------------------------------------------
@dataclass
class TopicModel:
    """A fitted topic model.

    Attributes
    ----------
    vocab_ : list[str], (V,)
    topic_word_ : (K, V) float, each row beta_k = P(w | z=k)
    alpha_ : (K,) the Dirichlet prior on mixes used for folding-in (zeros for pLSA: no prior)
    doc_topic_ : (D, K) float32, the training documents' mixes theta_d (may be empty)
    word_freq_ : (V,) corpus counts of each word (for the relevance ranking)
    labels_ : list[str], (K,) a short name per topic (editable)
    history_ : training log-likelihood per EM step (pLSA) or per 10 sweeps (LDA), per word
    """

    config: TopicConfig
    vocab_: list[str]
    topic_word_: np.ndarray
    alpha_: np.ndarray
    doc_topic_: np.ndarray
    word_freq_: np.ndarray
    labels_: list[str] = field(default_factory=list)
    history_: list[float] = field(default_factory=list)
    card_: dict = field(default_factory=dict)

    def __post_init__(self):
        self.index_ = {w: i for i, w in enumerate(self.vocab_)}
        if not self.labels_:
            self.labels_ = [f"Topic {k}" for k in range(self.n_topics)]

    @property
    def n_topics(self) -> int:
        return self.topic_word_.shape[0]

    @property
    def corpus(self) -> Corpus:
        """An empty corpus over this model's vocabulary (for encoding new texts)."""
        return Corpus(vocab=self.vocab_, docs=[], df=self.word_freq_, index=self.index_)

    # -- new documents ----------------------------------------------------------------------
    def encode(self, texts: list[str]) -> list[np.ndarray]:
        """Texts -> word-id arrays over this model's vocabulary (with its own text config)."""
        return self.corpus.encode(tokenize_all(texts, self.config.text))

    def transform(self, docs: list[np.ndarray], iterations: int = 60) -> np.ndarray:
        """Topic mixes of documents (word-id arrays) with the topics held fixed ("folding-in").

        EM on theta alone: E-step p(z | d, w) ∝ theta_{z|d} beta_{w|z}; M-step theta_{z|d} ∝
        alpha_z + sum_w n_dw p(z | d, w) (for LDA the prior acts as alpha pseudo-counts; pLSA has
        none). A document with no known word gets the prior's mean. Returns (n, K).
        """
        X = docs_to_counts(docs, len(self.vocab_))
        return fold_in(X, self.topic_word_, self.alpha_, iterations=iterations)

    def transform_texts(self, texts: list[str]) -> np.ndarray:
        return self.transform(self.encode(texts))

    def log_likelihood(self, X: sparse.csr_matrix, theta: np.ndarray) -> float:
        """sum_d sum_w n_dw log sum_z theta_{z|d} beta_{w|z}."""
        return loglik(X, theta, self.topic_word_)

    def perplexity(self, docs: list[np.ndarray], iterations: int = 60) -> float:
        """Held-out perplexity by document completion (Wallach et al. 2009): fold each document in
        on its even-numbered words, score its odd-numbered words. exp(-log p / n_words)."""
        first = [d[0::2] for d in docs if len(d) >= 2]
        second = [d[1::2] for d in docs if len(d) >= 2]
        if not first:
            return float("nan")
        V = len(self.vocab_)
        theta = fold_in(docs_to_counts(first, V), self.topic_word_, self.alpha_, iterations)
        X2 = docs_to_counts(second, V)
        return float(np.exp(-loglik(X2, theta, self.topic_word_, floor=1e-12) / X2.sum()))

    def word_topics(self, tokens: list[str], theta: np.ndarray) -> list[int]:
        """Each token's most likely topic, argmax_z theta_z beta_{w|z} (-1 if not in vocab)."""
        out = []
        for t in tokens:
            i = self.index_.get(t)
            out.append(-1 if i is None else int(np.argmax(theta * self.topic_word_[:, i])))
        return out

    # -- reading topics ---------------------------------------------------------------------
    def relevance(self, lam: float = 0.6) -> np.ndarray:
        """Sievert & Shirley (2014): r(w, k) = lam log beta_{w|k} + (1 - lam) log(beta_{w|k} /
        p(w)); lam = 1 ranks by probability, lam -> 0 by lift. (K, V)."""
        p = self.word_freq_ / max(1.0, self.word_freq_.sum())
        lb = np.log(self.topic_word_ + 1e-12)
        return lam * lb + (1 - lam) * (lb - np.log(p + 1e-12)[None, :])

    def top_words(self, k: int, n: int = 10, lam: float = 1.0) -> list[tuple[str, float]]:
        """The ``n`` top words of topic ``k`` by relevance, with their probability beta."""
        order = np.argsort(-self.relevance(lam)[k], kind="stable")[:n]
        return [(self.vocab_[i], float(self.topic_word_[k, i])) for i in order]

    def top_ids(self, n: int = 10) -> list[np.ndarray]:
        return [np.argsort(-self.topic_word_[k], kind="stable")[:n] for k in range(self.n_topics)]

    def formula(self, k: int, n: int = 8, lam: float = 1.0) -> str:
        """The lecture's form: ``0.068*"วิว" + 0.058*"ทะเล" + ...``."""
        return " + ".join(f'{p:.3f}*"{w}"' for w, p in self.top_words(k, n, lam))

    def prevalence(self) -> np.ndarray:
        """Each topic's share of the training documents (mean theta), (K,)."""
        if len(self.doc_topic_):
            return self.doc_topic_.mean(0)
        return np.full(self.n_topics, 1.0 / self.n_topics)

    # -- files ------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        card = {**self.card_, "format": FORMAT, "kind": KIND, "config": self.config.to_dict(),
                "labels": list(self.labels_)}
        np.savez_compressed(
            buf, vocab=np.array(self.vocab_, dtype=str), topic_word=self.topic_word_.astype(
                np.float32), alpha=self.alpha_.astype(np.float64),
            doc_topic=self.doc_topic_.astype(np.float16), word_freq=self.word_freq_.astype(
                np.int64), history=np.array(self.history_, np.float64),
            labels=np.array(self.labels_, dtype=str),
            card=np.frombuffer(json.dumps(card, ensure_ascii=False).encode("utf-8"), np.uint8))
        return buf.getvalue()

    def save(self, path: str | Path, card: dict | None = None) -> Path:
        """Write ``path`` (.npz) and its JSON card beside it (atomically)."""
        from unsup.fileio import atomic_write_bytes, atomic_write_json

        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        if card is not None:
            self.card_ = {**self.card_, **card}
        atomic_write_bytes(path, self.to_bytes())
        try:
            atomic_write_json(path.with_suffix(".json"), {
                **self.card_, "format": FORMAT, "kind": KIND, "config": self.config.to_dict(),
                "labels": list(self.labels_)})
        except OSError:
            path.unlink(missing_ok=True)  # no half-saved model: weights without a card
            raise
        return path


def from_bytes(data: bytes, name: str = "the file") -> TopicModel:
    """Read a model written by :meth:`TopicModel.to_bytes`; raises :class:`TopicModelError`."""
    if len(data) == 0:
        raise TopicModelError(f"{name} is empty.")
    if len(data) > MAX_MODEL_BYTES:
        raise TopicModelError(f"{name} is {len(data) / 2**20:.0f} MB; the limit is "
                              f"{MAX_MODEL_BYTES / 2**20:.0f} MB.")
    if data[:1] == b"\x80" or data[:1] in (b"(", b"c", b"]", b"}"):
        raise TopicModelError(
            f"{name} looks like a Python pickle. unsup never unpickles uploaded files (unpickling "
            "can run arbitrary code); export the model from this page as .npz instead.")
    if data[:2] != b"PK":
        raise TopicModelError(f"{name} is not a topic model saved by unsup (expected an .npz).")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = set(zf.namelist())
        if any(m.endswith(".pkl") or m.endswith("data.pkl") for m in members):
            raise TopicModelError(f"{name} holds pickled data (a torch.save archive?); it is "
                                  "refused. Export the model from this page as .npz instead.")
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except TopicModelError:
        raise
    except ValueError as exc:  # object arrays need pickle
        raise TopicModelError(f"{name} holds pickled objects, which are refused ({exc}).") from None
    except Exception as exc:
        raise TopicModelError(f"{name} could not be read as .npz ({type(exc).__name__}).") from None
    need = {"vocab", "topic_word", "alpha", "card"}
    if not need <= set(arrays):
        raise TopicModelError(f"{name} is an .npz but not a topic model (missing "
                              f"{', '.join(sorted(need - set(arrays)))}).")
    try:
        card = json.loads(arrays["card"].tobytes().decode("utf-8"))
        vocab = [str(w) for w in arrays["vocab"]]
        tw = np.asarray(arrays["topic_word"], np.float64)
        if tw.ndim != 2 or tw.shape[1] != len(vocab):
            raise ValueError("topic_word does not match the vocabulary")
        K = tw.shape[0]
        dt = arrays.get("doc_topic", np.zeros((0, K)))
        return TopicModel(
            config=TopicConfig.from_dict(card.get("config", {})), vocab_=vocab,
            topic_word_=tw, alpha_=np.asarray(arrays["alpha"], np.float64),
            doc_topic_=np.asarray(dt, np.float32).reshape(-1, K),
            word_freq_=np.asarray(arrays.get("word_freq", np.ones(len(vocab))), np.float64),
            labels_=[str(x) for x in arrays.get("labels", [])] or list(card.get("labels", [])),
            history_=[float(x) for x in arrays.get("history", [])], card_=card)
    except Exception as exc:
        raise TopicModelError(f"{name} is damaged ({exc}).") from None


def load(path: str | Path) -> TopicModel:
    """Load a saved model (``.npz``); the JSON card beside it, if any, wins over the embedded
    one (it may carry labels or metrics edited later)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if not path.exists():
        raise TopicModelError(f"No topic model at {path}.")
    model = from_bytes(path.read_bytes(), path.name)
    side = path.with_suffix(".json")
    if side.exists():
        try:
            card = json.loads(side.read_text(encoding="utf-8"))
            model.card_ = {**model.card_, **card}
            if card.get("labels") and len(card["labels"]) == model.n_topics:
                model.labels_ = list(card["labels"])
        except (OSError, json.JSONDecodeError):
            pass
    return model


# -- shared numerics ----------------------------------------------------------------------------
def docs_to_counts(docs: list[np.ndarray], n_words: int) -> sparse.csr_matrix:
    """Word-id arrays -> CSR counts (n_docs, n_words)."""
    indptr = np.zeros(len(docs) + 1, np.int64)
    indptr[1:] = np.cumsum([len(d) for d in docs])
    ind = np.concatenate(docs).astype(np.int32) if docs and indptr[-1] else np.zeros(0, np.int32)
    X = sparse.csr_matrix((np.ones(len(ind)), ind, indptr), shape=(len(docs), n_words))
    X.sum_duplicates()
    return X


def _mix(X: sparse.csr_matrix, theta: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """For each stored (d, w) of X: sum_z theta_{z|d} beta_{w|z}, the model's P(w | d)."""
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    out = np.empty(X.nnz)
    V = beta.shape[1]
    if V <= 4096:  # small vocabulary: a dense (rows, V) product per block is cheaper
        block = max(1, 2_000_000 // V)
        for s in range(0, X.shape[0], block):
            a, b = X.indptr[s], X.indptr[min(s + block, X.shape[0])]
            P = theta[s:s + block] @ beta
            out[a:b] = P[rows[a:b] - s, X.indices[a:b]]
        return out
    step = 400_000
    for s in range(0, X.nnz, step):
        r, c = rows[s:s + step], X.indices[s:s + step]
        out[s:s + step] = np.einsum("ik,ki->i", theta[r], beta[:, c])
    return out


def loglik(X, theta, beta, floor: float = 1e-300) -> float:
    """sum over stored (d, w) of n_dw log P(w | d)."""
    X = sparse.csr_matrix(X)
    if X.nnz == 0:
        return 0.0
    return float(X.data @ np.log(np.maximum(_mix(X, theta, beta), floor)))


def fold_in(X: sparse.csr_matrix, beta: np.ndarray, alpha: np.ndarray,
            iterations: int = 60) -> np.ndarray:
    """Mixes theta (n, K) of the rows of X with beta fixed (see :meth:`TopicModel.transform`)."""
    X = sparse.csr_matrix(X)
    n, K = X.shape[0], beta.shape[0]
    alpha = np.asarray(alpha, float)
    theta = np.full((n, K), 1.0 / K)
    if n == 0:
        return theta
    for _ in range(iterations):
        R = X.copy()
        R.data = X.data / np.maximum(_mix(X, theta, beta), 1e-300)
        new = theta * np.asarray(R @ beta.T) + alpha[None, :]  # soft counts + prior
        tot = new.sum(1, keepdims=True)
        empty = tot[:, 0] <= 0
        new = np.where(empty[:, None], 1.0 / K, new / np.where(tot > 0, tot, 1.0))
        if np.abs(new - theta).max() < 1e-5:
            theta = new
            break
        theta = new
    if alpha.sum() > 0:
        none = np.asarray(X.sum(1)).ravel() == 0
        theta[none] = alpha / alpha.sum()
    return theta


# -- fitting: the learners, trained by unsup.train.fit --------------------------------------------
ProgressFn = Callable[..., None]  # (fraction done, message[, losses])


def prepare(texts: list[str], config: TopicConfig, on_progress: ProgressFn | None = None) -> Corpus:
    """Tokenize ``texts`` and build the vocabulary."""
    def tick(i, n):
        if on_progress:
            on_progress(0.3 * i / max(1, n), f"tokenizing {i:,}/{n:,}")  # no loss yet

    return build_corpus(tokenize_all(texts, config.text, on_progress=tick), config.text)


def _vocab_tensor(vocab: list[str]) -> torch.Tensor:
    """The vocabulary as UTF-8 bytes, one word a line (a uint8 tensor: safetensors holds no
    strings; tokens never hold a newline)."""
    return torch.frombuffer(bytearray("\n".join(vocab).encode("utf-8")), dtype=torch.uint8).clone()


def _vocab_list(t: torch.Tensor) -> list[str]:
    return bytes(t.cpu().numpy().tobytes()).decode("utf-8").split("\n") if t.numel() else []


class TopicLearner(Model):
    """What a topic model is while it trains: a :class:`~unsup.models.base.Model` whose state is
    buffers only (no gradients, no optimizer) and whose ``train_step`` is one EM iteration (pLSA)
    or one block of Gibbs sweeps (LDA), so :func:`unsup.train.fit` trains it (progress, Stop
    within one step, checkpoints, best/last) and :mod:`unsup.checkpoints` saves and loads it
    (safetensors + card, no pickle).

    The corpus lives in the model (:meth:`attach`): its buffers' sizes are the data's
    (``data_shaped``), so a loaded checkpoint resizes them to the stored tensors. ``fit`` is given
    the document ids (:meth:`data`) and a batch of all of them: every step sees the whole corpus.

    Buffers every learner has (the fitted model, :meth:`topic_model`):
    ``vocab`` uint8 (UTF-8, one word a line), ``word_freq`` (V,), ``topic_word`` (K, V) beta,
    ``alpha`` (K,), ``doc_topic`` (D, K) theta, ``history`` (steps + 1 or steps,) log-lik/word.
    """

    config_class = TopicConfig
    data_shaped: ClassVar[bool] = True
    monitor = None  # no "best" copy: EM and Gibbs do not run away; absurd values still stop
    FITTED = ("vocab", "word_freq", "topic_word", "alpha", "doc_topic", "history")
    TRAINING: ClassVar[tuple[str, ...]] = ()  # buffers only a resumable checkpoint needs

    def __init__(self, config: TopicConfig):
        super().__init__(config)
        self.register_buffer("vocab", torch.zeros(0, dtype=torch.uint8))
        self.register_buffer("word_freq", torch.zeros(0, dtype=torch.float64))
        self.register_buffer("topic_word", torch.zeros(0, 0, dtype=torch.float64))
        self.register_buffer("alpha", torch.zeros(0, dtype=torch.float64))
        self.register_buffer("doc_topic", torch.zeros(0, 0, dtype=torch.float32))
        self.register_buffer("history", torch.zeros(0, dtype=torch.float64))

    def optimizers(self) -> dict:
        return {}  # closed-form (EM) or sampled (Gibbs) updates: the buffers are the state

    @property
    def n_docs(self) -> int:
        return int(self.doc_topic.shape[0])

    @property
    def batch_size(self) -> int:
        return max(1, self.n_docs)  # every step sees the whole corpus

    def data(self) -> torch.Tensor:
        """What :func:`unsup.train.fit` iterates: the document ids, (D,)."""
        return torch.arange(self.n_docs)

    def n_steps(self) -> int:
        """Steps that reach the config's ``iterations``."""
        return int(self.config.iterations)

    def _put(self, name: str, value) -> None:
        t = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
        self._buffers[name] = t.to(self._buffers[name].device if self._buffers.get(name)
                                   is not None else "cpu")

    def _attach_common(self, corpus: Corpus) -> None:
        if corpus.n_words < 2:
            raise ValueError("The vocabulary has fewer than 2 words; lower min_df or add texts.")
        if not any(len(d) for d in corpus.docs):
            raise ValueError("No document has a word in the vocabulary; lower min_df.")
        self._put("vocab", _vocab_tensor(list(corpus.vocab)))
        freq = np.bincount(np.concatenate([d for d in corpus.docs if len(d)]),
                           minlength=corpus.n_words).astype(np.float64)
        self._put("word_freq", torch.from_numpy(freq))

    # -- checkpoints ------------------------------------------------------------------------
    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Resize the buffers to the stored tensors first (their sizes are the corpus's)."""
        for name, t in state_dict.items():
            if name in self._buffers:
                self._buffers[name] = torch.empty(t.shape, dtype=t.dtype,
                                                  device=self._buffers[name].device)
        out = super().load_state_dict(state_dict, strict=False, assign=assign)
        # a finished (compact) checkpoint has no corpus or sampler: those stay empty
        missing = [k for k in out.missing_keys if k not in self.TRAINING]
        if strict and (missing or out.unexpected_keys):
            raise RuntimeError(f"state does not fit: missing {missing}, unexpected "
                               f"{out.unexpected_keys}")
        self._loaded()
        return type(out)(missing, out.unexpected_keys)

    def _loaded(self) -> None:
        """After a load: rebuild what is not a tensor (LDA's sampler)."""

    def compact_state(self, state):
        """A finished checkpoint keeps the fitted model only: topics as float32, the training
        documents' mixes as float16 (what the page shows), no corpus and no sampler."""
        out = {k: v for k, v in state.items() if k in self.FITTED}
        out["topic_word"] = out["topic_word"].float()
        out["doc_topic"] = out["doc_topic"].half()
        return out

    # -- the fitted model -------------------------------------------------------------------
    def topic_model(self) -> "TopicModel":
        """The fitted :class:`TopicModel` (vocabulary, beta, alpha, theta) of the current state;
        labels from the card (``labels``) when it names every topic."""
        self._sync()
        K = int(self.topic_word.shape[0])
        labels = list((self.card_ or {}).get("labels") or [])
        return TopicModel(
            config=self.config, vocab_=_vocab_list(self.vocab),
            topic_word_=self.topic_word.detach().cpu().double().numpy().copy(),
            alpha_=self.alpha.detach().cpu().double().numpy().copy(),
            doc_topic_=self.doc_topic.detach().cpu().float().numpy().reshape(-1, K).copy(),
            word_freq_=self.word_freq.detach().cpu().double().numpy().copy(),
            labels_=labels if len(labels) == K else [],
            history_=[float(x) for x in self.history.cpu()], card_=dict(self.card_ or {}))

    def _sync(self) -> None:
        """Bring the fitted buffers up to date with the training state (LDA: lazily)."""

    @classmethod
    def from_topic_model(cls, model: "TopicModel") -> "TopicLearner":
        """A finished learner holding a fitted :class:`TopicModel` (to save or export it)."""
        config = replace(model.config, method="plsa" if cls is PLSA else "lda")
        learner = cls(config)
        learner._put("vocab", _vocab_tensor(list(model.vocab_)))
        learner._put("word_freq", torch.as_tensor(np.asarray(model.word_freq_, np.float64)))
        learner._put("topic_word", torch.as_tensor(np.asarray(model.topic_word_, np.float64)))
        learner._put("alpha", torch.as_tensor(np.asarray(model.alpha_, np.float64)))
        learner._put("doc_topic", torch.as_tensor(np.asarray(model.doc_topic_, np.float32)))
        learner._put("history", torch.as_tensor(np.asarray(model.history_, np.float64)))
        learner.card_ = {**model.card_, "labels": list(model.labels_)}
        learner.step_ = int(model.card_.get("step") or 0)
        return learner


def _loss(ll: float) -> dict[str, float]:
    return {"-loglik/word": -float(ll)}


@register("topics_plsa")
class PLSA(TopicLearner):
    """pLSA (Hofmann 1999) by the lecture's EM; one ``train_step`` is one EM iteration.

    E-step: p(z | d, w) = theta_{z|d} beta_{w|z} / sum_z' theta_{z'|d} beta_{w|z'}.
    M-step: beta_{w|z} ∝ sum_d n_dw p(z | d, w) (soft counts of word w in topic z), and
            theta_{z|d} = sum_w n_dw p(z | d, w) / n_d (soft share of topic z in document d).
    Both steps are done at once on the sparse counts: with R_dw = n_dw / sum_z theta beta,
    the soft counts are theta_{z|d} (R beta^T)_{dz} and beta_{w|z} (theta^T R)_{zw}.
    Each EM step never lowers the training log-likelihood (``history``, per word, starts with
    the initial one). The state is theta, beta and the counts, all float64 buffers, and a step
    uses no randomness: a resume is exact.
    """

    TRAINING = ("counts_indptr", "counts_indices", "counts_data")

    def __init__(self, config: TopicConfig):
        super().__init__(replace(config, method="plsa"))
        self.register_buffer("counts_indptr", torch.zeros(1, dtype=torch.int64))
        self.register_buffer("counts_indices", torch.zeros(0, dtype=torch.int64))
        self.register_buffer("counts_data", torch.zeros(0, dtype=torch.float64))

    def attach(self, corpus: Corpus) -> "PLSA":
        """Take the corpus and draw the starting theta and beta (Dirichlet(1), the config's
        seed)."""
        self._attach_common(corpus)
        X = corpus.counts()
        D, V = X.shape
        K = int(self.config.n_topics)
        rng = np.random.default_rng(self.config.seed)
        theta = rng.dirichlet(np.ones(K), D)
        beta = rng.dirichlet(np.ones(V), K)
        self._put("counts_indptr", torch.from_numpy(X.indptr.astype(np.int64)))
        self._put("counts_indices", torch.from_numpy(X.indices.astype(np.int64)))
        self._put("counts_data", torch.from_numpy(X.data.astype(np.float64)))
        self._put("doc_topic", torch.from_numpy(theta))
        self._put("topic_word", torch.from_numpy(beta))
        self._put("alpha", torch.zeros(K, dtype=torch.float64))
        self._put("history", torch.tensor([loglik(X, theta, beta) / X.sum()], dtype=torch.float64))
        return self

    def _counts(self) -> sparse.csr_matrix:
        V = int(self.topic_word.shape[1])
        return sparse.csr_matrix((self.counts_data.cpu().numpy(), self.counts_indices.cpu().numpy(),
                                  self.counts_indptr.cpu().numpy()), shape=(self.n_docs, V))

    @torch.no_grad()
    def train_step(self, batch=None) -> dict[str, float]:
        if self.counts_data.numel() == 0:
            raise ValueError("this pLSA model has no corpus (attach one, or load a resumable "
                             "checkpoint)")
        X = self._counts()
        K = int(self.config.n_topics)
        theta = self.doc_topic.cpu().numpy()
        beta = self.topic_word.cpu().numpy()
        n_d = np.asarray(X.sum(1)).ravel()
        R = X.copy()
        R.data = X.data / np.maximum(_mix(X, theta, beta), 1e-300)
        soft_d = theta * np.asarray(R @ beta.T)  # (D, K) soft counts per document
        soft_w = beta * np.asarray((R.T @ theta).T)  # (K, V) soft counts per word
        theta = np.where(n_d[:, None] > 0, soft_d / np.maximum(n_d, 1)[:, None], 1.0 / K)
        beta = soft_w / np.maximum(soft_w.sum(1, keepdims=True), 1e-300)
        ll = loglik(X, theta, beta) / X.sum()
        self.doc_topic.copy_(torch.from_numpy(theta))
        self.topic_word.copy_(torch.from_numpy(beta))
        self._put("history", torch.cat([self.history.cpu(),
                                        torch.tensor([ll], dtype=torch.float64)]))
        return _loss(ll)


def _lda_schedule(config: TopicConfig, n_docs_used: int) -> tuple[int, int, int]:
    """(chains, sweeps of each starting chain, sweeps per step) of an LDA fit."""
    n_init = config.n_init or (4 if n_docs_used <= 50_000 else 1)
    first = min(config.init_sweeps, config.iterations) if n_init > 1 else 0
    return n_init, first, 10


def lda_steps(config: TopicConfig, n_docs_used: int) -> int:
    """Steps of an LDA fit that reach the config's ``iterations`` sweeps."""
    n_init, first, per = _lda_schedule(config, n_docs_used)
    rest = max(0, int(config.iterations) - first)
    return -(-first // per) + -(-rest // per)


def lda_sweeps(config: TopicConfig, n_docs_used: int, steps: int) -> int:
    """Gibbs sweeps of the kept chain (of each starting chain, while they compete) after
    ``steps`` steps of an LDA fit: what :meth:`LDA.train_step` runs, 10 sweeps a step (the last
    step of the starting chains and of ``iterations`` what is left), then 10 a step beyond."""
    n_init, first, per = _lda_schedule(config, n_docs_used)
    done = 0
    for _ in range(int(steps)):
        goal = first if done < first else int(config.iterations)
        done += min(per, goal - done) if goal > done else per
    return done


@register("topics")
class LDA(TopicLearner):
    """LDA by collapsed Gibbs sampling (Griffiths & Steyvers 2004; :mod:`unsup.models.gibbs`, a
    numba-compiled sampler whose random numbers are a function of the seed and the sweep). One
    ``train_step`` is 10 sweeps. A fit on up to 50,000 documents starts ``n_init`` chains (seeds
    seed, seed + 1, ...) that run side by side, a step advancing each, for ``init_sweeps``; the
    most likely one is kept and continued to ``iterations``. Gibbs chains can settle in a local
    optimum that more sweeps rarely leave (one theme split in two, two others merged); on the
    built-in listings 3 to 4 single chains in 10 do. Keeping the most likely of 4 after 60
    sweeps (the remedy of k-means' ``n_init``) lowers that risk without removing it: the chains
    still stuck at 60 sweeps may all be among them (``bench/RESULTS.md``, "Local optima over
    seeds"). Documents with no vocabulary word get the prior's mean.

    The sampler's state is three buffers beside the corpus (``doc_ptr``/``doc_words``, the
    documents used ``doc_ids``): ``assign`` (every word's topic, one row per live chain),
    ``chain_alpha`` (each live chain's alpha, optimised every 10 sweeps) and ``chain`` (the kept
    chain's index, -1 while they compete; the sweeps done). The counts follow from the
    assignments and a sweep's random numbers from (seed + chain, sweep), so a resumed run draws
    the very sweeps an uninterrupted one draws: resume is exact, like pLSA's. The fitted
    buffers (topics, alpha, mixes) are those of the kept chain, or of the most likely one so far.
    """

    TRAINING = ("doc_ptr", "doc_words", "doc_ids", "assign", "chain_alpha", "chain")
    LEGACY = ("sampler",)  # tomotopy's saved state in checkpoints of earlier versions

    def __init__(self, config: TopicConfig):
        super().__init__(replace(config, method="lda"))
        self.register_buffer("doc_ptr", torch.zeros(1, dtype=torch.int64))
        self.register_buffer("doc_words", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("doc_ids", torch.zeros(0, dtype=torch.int64))
        self.register_buffer("assign", torch.zeros(0, 0, dtype=torch.int32))
        self.register_buffer("chain_alpha", torch.zeros(0, 0, dtype=torch.float64))
        self.register_buffer("chain", torch.zeros(0, dtype=torch.int64))
        self._chains = None  # the live gibbs.Chains, once the first step made them
        self._kept = None  # index of the kept chain; None while the starting chains compete
        self._best = 0  # the most likely live chain after the last step
        self._dirty = False  # fitted buffers behind the chains

    def attach(self, corpus: Corpus) -> "LDA":
        """Take the corpus (the chains start in the first step)."""
        self._attach_common(corpus)
        K = int(self.config.n_topics)
        lens = np.array([len(d) for d in corpus.docs], np.int64)
        ptr = np.zeros(len(lens) + 1, np.int64)
        ptr[1:] = np.cumsum(lens)
        words = (np.concatenate(corpus.docs).astype(np.int32) if ptr[-1]
                 else np.zeros(0, np.int32))
        self._put("doc_ptr", torch.from_numpy(ptr))
        self._put("doc_words", torch.from_numpy(words))
        self._put("doc_ids", torch.from_numpy(np.flatnonzero(lens > 0).astype(np.int64)))
        alpha = np.full(K, float(self.config.alpha))
        self._put("alpha", torch.from_numpy(alpha))
        self._put("topic_word", torch.full((K, corpus.n_words), 1.0 / corpus.n_words,
                                           dtype=torch.float64))
        self._put("doc_topic", torch.full((len(corpus.docs), K), 1.0 / K, dtype=torch.float32))
        self._put("history", torch.zeros(0, dtype=torch.float64))
        self._put("assign", torch.zeros(0, 0, dtype=torch.int32))
        self._put("chain_alpha", torch.zeros(0, 0, dtype=torch.float64))
        self._put("chain", torch.zeros(0, dtype=torch.int64))
        self._chains, self._kept, self._dirty = None, None, False
        return self

    def n_steps(self) -> int:
        return lda_steps(self.config, int(self.doc_ids.numel()))

    @property
    def sweeps(self) -> int:
        """Gibbs sweeps of the kept chain (of each starting chain while they compete)."""
        return self._chains[0].sweeps if self._chains else 0

    @property
    def kept_chain(self) -> int | None:
        """The index of the chain kept after the starting chains competed (None before)."""
        return self._kept

    def _new_chain(self, index: int):
        from unsup.models import gibbs

        c = self.config
        K = int(c.n_topics)
        return gibbs.Chain(self.doc_ptr.cpu().numpy(), self.doc_words.cpu().numpy(), K,
                           int(self.word_freq.numel()), np.full(K, float(c.alpha)), float(c.eta),
                           int(c.seed) + int(index), 10 if c.optimize_alpha else 0)

    @torch.no_grad()
    def train_step(self, batch=None) -> dict[str, float]:
        if self.doc_ids.numel() == 0:
            raise ValueError("this LDA model has no corpus (attach one, or load a resumable "
                             "checkpoint)")
        c = self.config
        n_init, first, per = _lda_schedule(c, int(self.doc_ids.numel()))
        if self._chains is None:
            if self.step_ != 0 or self.history.numel():
                raise ValueError("this LDA checkpoint holds no sampler state; it cannot resume")
            self._chains = [self._new_chain(i).start() for i in range(n_init if first else 1)]
            self._kept = None if first else 0
        done = self.sweeps
        if self._kept is None:  # the starting chains compete
            for ch in self._chains:
                ch.sweep(min(per, first - done))
        else:
            left = int(c.iterations) - done
            self._chains[0].sweep(min(per, left) if left > 0 else per)
        lls = [ch.loglik_per_word() for ch in self._chains]  # once a step, for all uses
        self._best = int(np.argmax(lls))
        if self._kept is None and self._chains[0].sweeps >= first:
            self._kept, self._chains, self._best = self._best, [self._chains[self._best]], 0
        ll = max(lls)
        self._put("history", torch.cat([self.history.cpu(),
                                        torch.tensor([ll], dtype=torch.float64)]))
        self._dirty = True
        return _loss(ll)

    def _sync(self) -> None:
        if self._chains is None or not self._dirty:
            return
        chains = self._chains
        ch = chains[self._best]  # the most likely chain of the last step
        alpha = ch.alpha.copy()
        theta = np.tile((alpha / alpha.sum())[None, :], (self.n_docs, 1))
        used = self.doc_ids.cpu().numpy()
        theta[used] = ch.doc_topic()[used]
        self._put("topic_word", torch.from_numpy(ch.topic_word()))
        self._put("alpha", torch.from_numpy(alpha))
        self._put("doc_topic", torch.from_numpy(theta.astype(np.float32)))
        self._put("assign", torch.from_numpy(np.stack([x.z for x in chains])))
        self._put("chain_alpha", torch.from_numpy(np.stack([x.alpha for x in chains])))
        kept = -1 if self._kept is None else self._kept
        self._put("chain", torch.tensor([kept, ch.sweeps], dtype=torch.int64))
        self._dirty = False

    def state_dict(self, *args, **kwargs):
        self._sync()  # the assignments and the topics of the current step
        return super().state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """An earlier version's checkpoint holds tomotopy's state instead of the assignments:
        its fitted model loads, its training cannot resume (train_step says so)."""
        state = {k: v for k, v in state_dict.items() if k not in self.LEGACY}
        return super().load_state_dict(state, strict=strict, assign=assign)

    def _loaded(self) -> None:
        self._chains, self._kept, self._dirty = None, None, False
        if not (self.assign.dim() == 2 and self.assign.numel() and self.chain.numel() == 2):
            return
        kept, sweeps = (int(x) for x in self.chain)
        z, alphas = self.assign.cpu().numpy(), self.chain_alpha.cpu().double().numpy()
        if z.shape[0] != alphas.shape[0] or (kept >= 0) != (z.shape[0] == 1):
            raise ValueError("the LDA checkpoint's chains do not fit together")
        chains = []
        for row in range(z.shape[0]):
            ch = self._new_chain(kept if kept >= 0 else row)
            ch.alpha = alphas[row].copy()
            chains.append(ch.restore(z[row], sweeps))
        self._chains, self._kept = chains, (kept if kept >= 0 else None)


def fit_lda(corpus: Corpus, config: TopicConfig) -> TopicModel:
    """A one-call LDA fit for scripts (bench/): the learner's steps, one after the other, with
    no progress, Stop or checkpoints. The app trains through :func:`unsup.train.fit`
    (``unsup.recipes.topics.fit_topics``), which runs the same steps."""
    learner = LDA(config).attach(corpus)
    for _ in range(learner.n_steps()):
        learner.train_step()
        learner.step_ += 1
    return learner.topic_model()


def fit_plsa(corpus: Corpus, config: TopicConfig) -> TopicModel:
    """pLSA's one-call fit for scripts, like :func:`fit_lda`."""
    learner = PLSA(config).attach(corpus)
    for _ in range(learner.n_steps()):
        learner.train_step()
        learner.step_ += 1
    return learner.topic_model()


def learner_class(config: TopicConfig) -> type[TopicLearner]:
    """The learner the config's ``method`` names."""
    return PLSA if config.method == "plsa" else LDA


def suggest_k_hdp(corpus: Corpus, seed: int = 0, iterations: int = 400, gamma: float = 1.0,
                  alpha: float = 0.1, eta: float = 0.01, min_share: float = 0.02,
                  max_docs: int = 2000) -> dict:
    """The number of topics an HDP (a Chinese restaurant franchise) opens on this corpus.

    Each word sits at a "table" of its document; a table serves a topic ("dish"); a new table
    opens with weight alpha, a new dish with weight gamma. Topics holding less than ``min_share``
    of the words are noise the sampler has not yet emptied and are not counted. Fits on at most
    ``max_docs`` documents (evenly spaced) to stay quick.
    """
    import tomotopy as tp

    step = max(1, len(corpus.docs) // max_docs)
    mdl = tp.HDPModel(initial_k=2, alpha=alpha, eta=eta, gamma=gamma, seed=int(seed))
    for doc in corpus.docs[::step]:
        if len(doc):
            mdl.add_doc([corpus.vocab[i] for i in doc])
    mdl.train(iterations, workers=1)
    counts = np.array(mdl.get_count_by_topics(), float)
    live = [k for k in range(mdl.k) if mdl.is_live_topic(k)]
    shares = np.sort(counts[live] / max(1.0, counts[live].sum()))[::-1]
    return {"k": int((shares >= min_share).sum()), "live_k": int(mdl.live_k),
            "shares": shares.round(4).tolist()}


def split_docs(n: int, heldout: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random split of range(n): (train ids, held-out ids)."""
    perm = np.random.default_rng(seed).permutation(n)
    m = int(round(n * heldout))
    return np.sort(perm[m:]), np.sort(perm[:m])


__all__ = ["LDA", "PLSA", "TopicConfig", "TopicLearner", "TopicModel", "TopicModelError",
           "fit_lda", "fit_plsa", "from_bytes", "learner_class", "load", "prepare", "split_docs",
           "suggest_k_hdp", "tokenize"]
