"""Topic models: LDA (tomotopy's collapsed Gibbs sampler), HDP to suggest K, and pLSA by EM.

The lecture's picture: each topic z is a word distribution beta_z = P(w | z); each document d a
mixture theta_d = P(z | d); every word first picks a topic from theta_d, then a word from that
topic's beta. pLSA fits theta and beta by maximum likelihood (EM); LDA puts Dirichlet priors on
both (alpha on theta, eta on beta), which ties the documents together and stops the overfitting
pLSA shows on held-out documents. HDP (Teh et al. 2006) is the Chinese-restaurant-process version:
a new topic ("table") opens with probability proportional to a concentration parameter, so the
number of topics is learnt.

A fitted model is a :class:`TopicModel`: vocabulary, topic-word matrix, prior, training documents'
mixes. It saves to one ``.npz`` (plain arrays, read with ``allow_pickle=False``) plus a JSON card,
so loading never unpickles. Folding-in (:meth:`TopicModel.transform`) gives the mix of any new text
under fixed topics.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import sparse

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
    method: str = "lda"  # "lda" (tomotopy, collapsed Gibbs) or "plsa" (EM, no priors)
    alpha: float = 0.1  # LDA: symmetric Dirichlet prior on each document's mix (then optimised)
    eta: float = 0.01  # LDA: symmetric Dirichlet prior on each topic's word distribution
    iterations: int = 150  # Gibbs sweeps (LDA) or EM steps (pLSA)
    optimize_alpha: bool = True  # LDA: re-estimate an asymmetric alpha every 10 sweeps (Minka)
    seed: int = 0  # random seed
    workers: int = 1  # tomotopy threads; 1 is reproducible bit for bit, more is faster
    n_init: int = 0  # LDA: chains started (seeds seed, seed+1, ...); the most likely one after
    #                  init_sweeps is kept. 0 = auto: 3 up to 50,000 documents, else 1
    init_sweeps: int = 25  # LDA: sweeps of each starting chain (part of ``iterations``)
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


# -- fitting ------------------------------------------------------------------------------------
ProgressFn = Callable[..., None]  # (fraction done, message[, losses])


def prepare(texts: list[str], config: TopicConfig, on_progress: ProgressFn | None = None) -> Corpus:
    """Tokenize ``texts`` and build the vocabulary."""
    def tick(i, n):
        if on_progress:
            on_progress(0.3 * i / max(1, n), f"tokenizing {i:,}/{n:,}")  # no loss yet

    return build_corpus(tokenize_all(texts, config.text, on_progress=tick), config.text)


class FitStopped(InterruptedError):
    """A stop honoured between Gibbs sweeps; ``state`` resumes the fit exactly where it was
    (tomotopy's own binary model format, no pickle), after ``done`` sweeps."""

    def __init__(self, state: bytes, done: int, history: list[float]):
        super().__init__(f"stopped after {done} sweeps")
        self.state, self.done, self.history = state, done, history


def fit_lda(corpus: Corpus, config: TopicConfig, on_progress: ProgressFn | None = None,
            should_stop: Callable[[], bool] | None = None,
            resume: tuple[bytes, int, list[float]] | None = None) -> TopicModel:
    """LDA by tomotopy's collapsed Gibbs sampler (Griffiths & Steyvers 2004, with its sparse
    sampling tricks). Documents with no vocabulary word get the prior's mean.

    A stop between sweeps raises :class:`FitStopped` with the sampler's state; passing
    ``resume=(state, done, history)`` of it continues the same chain on the same corpus.
    ``on_progress`` may also take a third argument, the losses to plot (``-loglik/word``).
    """
    import tomotopy as tp

    if corpus.n_words < 2:
        raise ValueError("The vocabulary has fewer than 2 words; lower min_df or add texts.")
    K = int(config.n_topics)
    used = [d for d, doc in enumerate(corpus.docs) if len(doc)]
    if not used:
        raise ValueError("No document has a word in the vocabulary; lower min_df.")
    words = [[corpus.vocab[i] for i in corpus.docs[d]] for d in used]
    n_init = config.n_init or (3 if len(used) <= 50_000 else 1)
    first = min(config.init_sweeps, config.iterations) if n_init > 1 else 0
    total = config.iterations + first * (n_init - 1)

    def report(done_all: int, message: str, ll: float) -> None:
        if on_progress:
            try:
                on_progress(0.3 + 0.7 * done_all / total, message, {"-loglik/word": -ll})
            except TypeError:  # a two-argument callback
                on_progress(0.3 + 0.7 * done_all / total, message)

    if resume is not None:
        state, done, history = resume
        mdl = tp.LDAModel.loads(state)
        history = list(history)
    else:
        # Gibbs chains can settle in a local optimum (one theme split in two, two others merged)
        # that more sweeps do not leave; starting a few chains and keeping the most likely one
        # after a short burn is the usual remedy (the same idea as k-means' n_init).
        mdl, best = None, -np.inf
        for s in range(n_init):
            if should_stop is not None and should_stop():
                raise InterruptedError("stopped")
            m = tp.LDAModel(k=K, alpha=config.alpha, eta=config.eta, seed=int(config.seed) + s)
            m.optim_interval = 10 if config.optimize_alpha else 0
            for w in words:
                m.add_doc(w)
            if first:
                m.train(first, workers=config.workers)
                report(first * (s + 1), f"starting chain {s + 1}/{n_init}: log-lik/word "
                                        f"{m.ll_per_word:.3f}", m.ll_per_word)
            if mdl is None or m.ll_per_word > best:
                mdl, best = m, m.ll_per_word
        del m
        history = [float(mdl.ll_per_word)] if first else []
        done = first
    step = 10
    while done < config.iterations:
        if should_stop is not None and should_stop():
            raise FitStopped(mdl.saves(full=True), done, history)
        n = min(step, config.iterations - done)
        mdl.train(n, workers=config.workers)
        done += n
        history.append(float(mdl.ll_per_word))
        report(done + first * (n_init - 1), f"Gibbs sweep {done}/{config.iterations}, "
                                            f"log-lik/word {history[-1]:.3f}", history[-1])
    # tomotopy's vocabulary order -> ours
    tv = list(mdl.used_vocabs)
    pos = np.array([corpus.index[w] for w in tv])
    tw = np.zeros((K, corpus.n_words))
    for k in range(K):
        tw[k, pos] = mdl.get_topic_word_dist(k)
    tw /= tw.sum(1, keepdims=True)
    alpha = np.asarray(mdl.alpha, float)
    theta = np.tile((alpha / alpha.sum())[None, :], (len(corpus.docs), 1))
    theta[used] = np.array([doc.get_topic_dist() for doc in mdl.docs])
    freq = np.bincount(np.concatenate([d for d in corpus.docs if len(d)]),
                       minlength=corpus.n_words).astype(np.float64)
    return TopicModel(config=config, vocab_=list(corpus.vocab), topic_word_=tw, alpha_=alpha,
                      doc_topic_=theta.astype(np.float32), word_freq_=freq, history_=history)


def fit_plsa(corpus: Corpus, config: TopicConfig, on_progress: ProgressFn | None = None,
             should_stop: Callable[[], bool] | None = None) -> TopicModel:
    """pLSA (Hofmann 1999) by the lecture's EM.

    E-step: p(z | d, w) = theta_{z|d} beta_{w|z} / sum_z' theta_{z'|d} beta_{w|z'}.
    M-step: beta_{w|z} ∝ sum_d n_dw p(z | d, w) (soft counts of word w in topic z), and
            theta_{z|d} = sum_w n_dw p(z | d, w) / n_d (soft share of topic z in document d).
    Both steps are done at once on the sparse counts: with R_dw = n_dw / sum_z theta beta,
    the soft counts are theta_{z|d} (R beta^T)_{dz} and beta_{w|z} (theta^T R)_{zw}.
    Each EM step never lowers the training log-likelihood (kept in ``history_``, per word).
    """
    X = corpus.counts()
    D, V = X.shape
    K = int(config.n_topics)
    if X.nnz == 0:
        raise ValueError("No document has a word in the vocabulary; lower min_df.")
    rng = np.random.default_rng(config.seed)
    theta = rng.dirichlet(np.ones(K), D)
    beta = rng.dirichlet(np.ones(V), K)
    n_d = np.asarray(X.sum(1)).ravel()
    N = X.sum()
    history = [loglik(X, theta, beta) / N]
    for it in range(config.iterations):
        if should_stop is not None and should_stop():
            raise InterruptedError("stopped")
        R = X.copy()
        R.data = X.data / np.maximum(_mix(X, theta, beta), 1e-300)
        soft_d = theta * np.asarray(R @ beta.T)  # (D, K) soft counts per document
        soft_w = beta * np.asarray((R.T @ theta).T)  # (K, V) soft counts per word
        theta = np.where(n_d[:, None] > 0, soft_d / np.maximum(n_d, 1)[:, None], 1.0 / K)
        beta = soft_w / np.maximum(soft_w.sum(1, keepdims=True), 1e-300)
        history.append(loglik(X, theta, beta) / N)
        if on_progress and it % 5 == 0:
            on_progress(0.3 + 0.7 * (it + 1) / config.iterations,
                        f"EM step {it + 1}/{config.iterations}, log-lik/word {history[-1]:.3f}")
    freq = np.asarray(X.sum(0)).ravel()
    return TopicModel(config=replace(config, method="plsa"), vocab_=list(corpus.vocab),
                      topic_word_=beta, alpha_=np.zeros(K), doc_topic_=theta.astype(np.float32),
                      word_freq_=freq, history_=history)


def fit(corpus: Corpus, config: TopicConfig, on_progress: ProgressFn | None = None,
        should_stop: Callable[[], bool] | None = None) -> TopicModel:
    """Fit the method the config names."""
    f = fit_plsa if config.method == "plsa" else fit_lda
    return f(corpus, config, on_progress=on_progress, should_stop=should_stop)


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


__all__ = ["TopicConfig", "TopicModel", "TopicModelError", "fit", "fit_lda", "fit_plsa",
           "from_bytes", "load", "prepare", "split_docs", "suggest_k_hdp", "tokenize"]
