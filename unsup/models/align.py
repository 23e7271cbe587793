"""Cross-lingual word-embedding alignment without a dictionary.

Two monolingual embedding tables, X (n_src, d) and Y (n_tgt, d), trained separately on text that
is not parallel, are assumed to be roughly isometric: some orthogonal W makes XW close to Y (the
translation of a word lands near it). The tools here find W without any seed translation pairs,
written from the papers:

- MUSE (Conneau, Lample, Ranzato, Denoyer & Jégou 2018, "Word translation without parallel
  data", ICLR): :class:`AdversarialAligner` learns W by fooling a discriminator that tells
  mapped source words from target words (their section 2.1), kept near-orthogonal by their orthogonalization update;
  :func:`refine` then iterates Procrustes on the mutual nearest neighbours under CSLS
  (:func:`csls`); :func:`mean_cosine_criterion` is their unsupervised model selection
  (section 3.5).
- Vecmap (Artetxe, Labaka & Agirre 2018, "A robust self-learning method for fully unsupervised
  cross-lingual mappings of word embeddings", ACL): :func:`vecmap`, an initial dictionary from
  the sorted similarity distributions of the words, then robust self-learning.
- Baselines and the ceiling: :func:`frequency_rank`, :func:`identical_pairs` (seed
  Procrustes + refinement with :func:`seeded_procrustes`) and :func:`supervised_procrustes`.
- Evaluation: :func:`translate` (nearest neighbours or CSLS) and :func:`precision_at_k`.

Conventions: embeddings are float32 rows, vocabularies ordered by frequency (most frequent
first, so "the first ``max_rank`` rows" are the most frequent words); every function except
:func:`normalize` expects normalized tables (``normalize(E)`` once, first); a map W is (d, d)
and is applied on the right (``X @ W``); a dictionary is a LongTensor (m, 2) of (source id,
target id) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from unsup.models.base import Model, register

CHUNK = 2048
"""Rows of a similarity block: a (CHUNK, 20,000) float32 block is 160 MB, the largest
allocation the chunked functions make."""


# -- preprocessing and the orthogonal map ----------------------------------------------------------
def _unit(E: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit length (zero rows stay zero)."""
    return E / E.norm(dim=1, keepdim=True).clamp_min(1e-12)


def normalize(E: torch.Tensor) -> torch.Tensor:
    """Unit length, mean-centre, unit length again ("renorm, center, renorm"; Artetxe et al.
    2018, section 3.1, the preprocessing MUSE's ``--normalize_embeddings`` offers too).

    Centering removes the common direction every word shares, so cosines measure what is
    particular to each word; the last step puts the rows back on the sphere.

    E : (n, d) -> (n, d) float32.
    """
    E = _unit(E.float())
    E = E - E.mean(0, keepdim=True)
    return _unit(E)


def procrustes(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """The orthogonal W (d, d) minimising ||A W - B||_F (Schönemann 1966; MUSE's Procrustes solution U Vᵀ).

    With U Σ Vᵀ the SVD of AᵀB (d, d), W = U Vᵀ: maximising tr(Wᵀ AᵀB) over orthogonal W.

    A, B : (m, d) row-aligned pairs (row i of A should map onto row i of B).
    """
    U, _, Vh = torch.linalg.svd(A.double().T @ B.double())
    return (U @ Vh).float()


def supervised_procrustes(X: torch.Tensor, Y: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """The supervised upper bound: Procrustes on a given seed lexicon.

    X (n_src, d), Y (n_tgt, d) normalized; pairs (m, 2) of (source id, target id) (a word with
    several translations may appear in several pairs). Returns W (d, d)."""
    pairs = torch.as_tensor(pairs, dtype=torch.long)
    return procrustes(X[pairs[:, 0]], Y[pairs[:, 1]])


# -- retrieval -------------------------------------------------------------------------------------
def _mean_topk_cos(A: torch.Tensor, B: torch.Tensor, k: int, chunk: int = CHUNK) -> torch.Tensor:
    """For each row a of A (unit rows), the mean cosine to its k nearest rows of B: the
    neighbourhood density r of CSLS (Conneau et al. 2018). (n_a,) computed in row
    blocks, so no (n_a, n_b) matrix is held."""
    k = max(1, min(int(k), B.shape[0]))
    out = torch.empty(A.shape[0], dtype=A.dtype)
    for i in range(0, A.shape[0], chunk):
        out[i:i + chunk] = (A[i:i + chunk] @ B.T).topk(k, dim=1).values.mean(1)
    return out


def csls(XW: torch.Tensor, Y: torch.Tensor, k: int = 10,
         rows: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-domain similarity local scaling (Conneau et al. 2018):

        CSLS(x, y) = 2 cos(x, y) - r_Y(x) - r_X(y),

    r_Y(x) the mean cosine of the mapped source word x to its k nearest target words, r_X(y) of
    the target word y to its k nearest mapped source words. Hubs (words near everything) are
    penalised, isolated words helped.

    XW : (n_src, d) mapped source embeddings; Y : (n_tgt, d) target embeddings (cosines: rows
    are length-normalised here). rows : optional source ids to score (default all): the
    densities always use the whole of both sets. Returns (len(rows), n_tgt). The densities are
    computed in blocks; the returned matrix is the only full-size allocation, so for large
    vocabularies ask for a block of rows at a time (as :func:`translate` does).
    """
    Xn, Yn = _unit(XW.float()), _unit(Y.float())
    q = Xn if rows is None else Xn[torch.as_tensor(rows, dtype=torch.long)]
    r_y = _mean_topk_cos(q, Yn, k)  # (n_q,)
    r_x = _mean_topk_cos(Yn, Xn, k)  # (n_tgt,)
    return 2 * (q @ Yn.T) - r_y[:, None] - r_x[None, :]


def translate(XW: torch.Tensor, Y: torch.Tensor, k: int = 5, method: str = "csls",
              csls_k: int = 10, rows: torch.Tensor | None = None,
              chunk: int = CHUNK) -> torch.Tensor:
    """The k best target ids of each source word, best first: (n_rows, k) LongTensor.

    method "nn": cosine nearest neighbours; "csls": highest CSLS (``csls_k`` neighbours
    for the densities). rows: source ids to translate (default all). Scored in row blocks of
    ``chunk``, so a 20k x 20k vocabulary never holds its full score matrix.
    """
    if method not in ("csls", "nn"):
        raise ValueError(f"method must be 'csls' or 'nn', got {method!r}")
    Xn, Yn = _unit(XW.float()), _unit(Y.float())
    q = Xn if rows is None else Xn[torch.as_tensor(rows, dtype=torch.long)]
    k = min(int(k), Yn.shape[0])
    r_x = _mean_topk_cos(Yn, Xn, csls_k, chunk) if method == "csls" else None  # (n_tgt,)
    out = torch.empty(q.shape[0], k, dtype=torch.long)
    for i in range(0, q.shape[0], chunk):
        s = q[i:i + chunk] @ Yn.T  # (b, n_tgt) cosines
        if r_x is not None:
            # r_Y(x) is constant along a row: it does not change the ranking, but it is kept so
            # the scores are CSLS's
            r_y = s.topk(min(csls_k, s.shape[1]), dim=1).values.mean(1)
            s = 2 * s - r_y[:, None] - r_x[None, :]
        out[i:i + chunk] = s.topk(k, dim=1).indices
    return out


def induce_dictionary(XW: torch.Tensor, Y: torch.Tensor, *, method: str = "csls",
                      mutual: bool = True, max_rank: int | None = None,
                      csls_k: int = 10) -> torch.Tensor:
    """A dictionary read off the mapped embeddings (MUSE section 2.3/3.5): each of the
    ``max_rank`` most frequent source words paired with its best target word among the
    ``max_rank`` most frequent target words (CSLS or cosine "nn", computed within these
    restricted sets). ``mutual``: keep only mutual best pairs (x's best is y and y's best is
    x: MUSE's "S2T&T2S", the precise dictionary the refinement uses); otherwise every
    source word's best ("S2T").

    XW (n_src, d), Y (n_tgt, d). Returns a LongTensor (m, 2) of (source id, target id), sorted
    by source id.
    """
    ns = XW.shape[0] if max_rank is None else min(int(max_rank), XW.shape[0])
    nt = Y.shape[0] if max_rank is None else min(int(max_rank), Y.shape[0])
    Xs, Ys = XW[:ns], Y[:nt]
    fwd = translate(Xs, Ys, 1, method, csls_k)[:, 0]  # (ns,) best target of each source
    src = torch.arange(ns)
    if not mutual:
        return torch.stack([src, fwd], 1)
    bwd = translate(Ys, Xs, 1, method, csls_k)[:, 0]  # (nt,) best source of each target
    keep = bwd[fwd] == src
    return torch.stack([src[keep], fwd[keep]], 1)


def mean_cosine_criterion(X: torch.Tensor, Y: torch.Tensor, W: torch.Tensor, n: int = 10_000,
                          csls_k: int = 10) -> float:
    """MUSE's unsupervised validation criterion (Conneau et al. 2018, section 3.5): the mean
    cosine between each of the ``n`` most frequent source words, mapped, and its CSLS
    translation (over the whole target vocabulary). It tracks translation accuracy closely
    and needs no dictionary, so it selects among models, refinement iterations and seeds.

    X (n_src, d), Y (n_tgt, d) normalized; W (d, d). Returns a float in [-1, 1].
    """
    XW = X @ W
    rows = torch.arange(min(int(n), X.shape[0]))
    best = translate(XW, Y, 1, "csls", csls_k, rows=rows)[:, 0]
    return float((_unit(XW[rows]) * _unit(Y[best])).sum(1).mean())


def refine(X: torch.Tensor, Y: torch.Tensor, W: torch.Tensor, *, n_iter: int = 5,
           max_rank: int | None = 15_000, csls_k: int = 10, criterion_n: int = 10_000
           ) -> tuple[torch.Tensor, list[dict]]:
    """MUSE's Procrustes refinement (Conneau et al. 2018, section 2.2): ``n_iter`` times,
    induce a dictionary from the current map (mutual CSLS nearest neighbours among the
    ``max_rank`` most frequent words of each side; MUSE uses 15,000) and solve Procrustes
    (its closed-form solution) on it.

    Returns (W, log): W the map of the best :func:`mean_cosine_criterion` seen (the starting
    map included: MUSE keeps the best model by the criterion), log one dict per iteration
    ({"iter", "pairs", "criterion"}; iter 0 is the starting map).
    """
    best_c = mean_cosine_criterion(X, Y, W, criterion_n, csls_k)
    best_W, log = W.clone(), [{"iter": 0, "pairs": 0, "criterion": best_c}]
    for it in range(1, int(n_iter) + 1):
        pairs = induce_dictionary(X @ W, Y, method="csls", mutual=True, max_rank=max_rank,
                                  csls_k=csls_k)
        if len(pairs) == 0:
            break
        W = procrustes(X[pairs[:, 0]], Y[pairs[:, 1]])
        c = mean_cosine_criterion(X, Y, W, criterion_n, csls_k)
        log.append({"iter": it, "pairs": int(len(pairs)), "criterion": c})
        if c > best_c:
            best_c, best_W = c, W.clone()
    return best_W, log


# -- baselines -------------------------------------------------------------------------------------
def frequency_rank(n_src: int, n_tgt: int) -> torch.Tensor:
    """The frequency-rank baseline dictionary: the word of rank i translates as the target
    word of rank i. (min(n_src, n_tgt), 2) LongTensor; ``pairs[:, 1:]`` is its (n, 1) top-1."""
    i = torch.arange(min(int(n_src), int(n_tgt)))
    return torch.stack([i, i], 1)


def identical_pairs(src_words: list[str], tgt_words: list[str]) -> torch.Tensor:
    """Pairs of words spelled identically in both vocabularies (digits, numbers, names,
    shared loanwords): the "identical strings" seed of Artetxe et al. 2017 / Smith et al.
    2017. (m, 2) LongTensor of (source id, target id), in source order."""
    where = {w: j for j, w in enumerate(tgt_words)}
    out = [(i, where[w]) for i, w in enumerate(src_words) if w in where]
    return torch.tensor(out, dtype=torch.long).reshape(-1, 2)


def seeded_procrustes(X: torch.Tensor, Y: torch.Tensor, pairs: torch.Tensor, *,
                      n_refine: int = 5, max_rank: int | None = 15_000, csls_k: int = 10
                      ) -> tuple[torch.Tensor, list[dict]]:
    """Procrustes on a seed dictionary (e.g. :func:`identical_pairs` or :func:`frequency_rank`),
    then :func:`refine` for ``n_refine`` iterations: how far a weak seed gets. Returns (W, log)
    as :func:`refine` (log empty when ``n_refine`` is 0)."""
    W = supervised_procrustes(X, Y, pairs)
    if n_refine <= 0:
        return W, []
    return refine(X, Y, W, n_iter=n_refine, max_rank=max_rank, csls_k=csls_k)


# -- Vecmap ----------------------------------------------------------------------------------------
def _sorted_similarity(E: torch.Tensor) -> torch.Tensor:
    """Artetxe et al. 2018, section 3.2: sqrt(M) with M = E Eᵀ, each row sorted, normalized.

    With E = U S Vᵀ, sqrt(E Eᵀ) = U S Uᵀ (n, n): a word's row is its similarity to every word
    of its own language, so it does not depend on the basis of the embedding space; sorting a
    row forgets which word each value belongs to, leaving a distribution that should be
    nearly the same for a word and its translation in isometric spaces. (The square root
    sharpens the distributions, the paper's choice.)"""
    U, S, _ = torch.linalg.svd(E.double(), full_matrices=False)  # U (n, r), S (r,)
    M = (U * S) @ U.T  # (n, n)
    M = M.sort(dim=1, descending=True).values
    return normalize(M.float())


def _csls_argmax(A: torch.Tensor, B: torch.Tensor, r_b: torch.Tensor, keep: float,
                 gen: torch.Generator | None, chunk: int = CHUNK
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row of A (unit rows), its best row of B under CSLS (cos - r_B/2: the source's
    own density does not change its argmax; r_b (n_b,) the density of each row of B) after
    stochastic dictionary induction (every similarity kept with probability ``keep``, set to
    zero otherwise). Returns (best ids (n_a,), the best plain cosine of each row (n_a,))."""
    ids = torch.empty(A.shape[0], dtype=torch.long)
    best = torch.empty(A.shape[0], dtype=A.dtype)
    for i in range(0, A.shape[0], chunk):
        s = A[i:i + chunk] @ B.T  # (b, n_b)
        best[i:i + chunk] = s.max(1).values
        s = s - r_b[None, :] / 2
        if keep < 1.0:
            s = s * (torch.rand(s.shape, generator=gen) < keep)
        ids[i:i + chunk] = s.argmax(1)
    return ids, best


def _whiten(E: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(EᵀE)^(-1/2) and (EᵀE)^(1/2), (d, d), by an eigendecomposition."""
    lam, Q = torch.linalg.eigh(E.double().T @ E.double())
    lam = lam.clamp_min(1e-8)
    return (Q * lam.rsqrt()) @ Q.T, (Q * lam.sqrt()) @ Q.T


def _reweighted_map(Xd: torch.Tensor, Zd: torch.Tensor, power: float
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Artetxe et al. 2018 (AAAI, "Generalizing and improving bilingual word embedding
    mappings...") steps applied once after self-learning (ACL paper, section 3.4): whiten each
    side on the dictionary pairs Xd, Zd (m, d), orthogonal map of the whitened pairs (SVD
    U S Vᵀ), symmetric re-weighting by S^power on both sides, de-whitening of each side into
    its own space. Returns (W_x, W_z), each (d, d); X W_x is comparable to Z W_z."""
    Wx1, Wx1_inv = _whiten(Xd)
    Wz1, Wz1_inv = _whiten(Zd)
    U, S, Vh = torch.linalg.svd((Xd.double() @ Wx1).T @ (Zd.double() @ Wz1))
    V = Vh.T
    Sp = S.clamp_min(0) ** power
    Wx = Wx1 @ U @ torch.diag(Sp) @ (U.T @ Wx1_inv @ U)
    Wz = Wz1 @ V @ torch.diag(Sp) @ (V.T @ Wz1_inv @ V)
    return Wx.float(), Wz.float()


def vecmap(X: torch.Tensor, Y: torch.Tensor, *, seed: int = 0, n_iter: int = 2_000,
           csls_k: int = 10, max_rank: int | None = 20_000, init_rank: int = 4_000,
           keep_init: float = 0.1, patience: int = 50, multiplier: float = 2.0,
           threshold: float = 1e-6, reweight: float | None = None
           ) -> tuple[torch.Tensor, torch.Tensor, list[dict]]:
    """Vecmap, fully unsupervised (Artetxe, Labaka & Agirre 2018, ACL).

    1. Initial dictionary (section 3.2): for the ``init_rank`` most frequent words of each
       side, the rows of sqrt(X Xᵀ) and sqrt(Y Yᵀ), sorted and normalized
       (:func:`_sorted_similarity`); each word's partner is its CSLS nearest neighbour among
       the other side's sorted rows, in both directions (the union of the two).
    2. Robust self-learning (section 3.3), repeated: the orthogonal map maximising the
       dictionary's similarities (Procrustes: the paper's W_X = U, W_Z = V,
       here W = U Vᵀ on the source side); then a new dictionary among the ``max_rank`` most
       frequent words of each side (frequency cutoff), from CSLS (``csls_k`` neighbours)
       with stochastic dictionary induction (each similarity kept with probability p,
       starting at ``keep_init``; when the objective — the mean best cosine, both ways — has
       not improved by ``threshold`` for ``patience`` iterations, p ← min(1, multiplier·p);
       convergence when that happens at p = 1) and bidirectional induction (source→target
       pairs plus target→source pairs).
    3. Optional (``reweight``, e.g. 0.5; off by default): the symmetric re-weighting of
       section 3.4 once at the end — whitening, orthogonal map, re-weighting by S^reweight,
       de-whitening (:func:`_reweighted_map`). Then the maps are no longer orthogonal and the
       target side is transformed too.

    X (n_src, d), Y (n_tgt, d): normalized embeddings, most frequent word first (the cutoffs
    keep the first rows). ``seed`` seeds the stochastic induction.

    Returns (W_x, W_z, log): X @ W_x is comparable to Y @ W_z (W_z is the identity without
    re-weighting, and W_x an orthogonal map used like MUSE's); log one dict per iteration
    ({"iter", "objective", "keep", "pairs"}; iter 0 the initial dictionary).
    """
    X, Y = X.float(), Y.float()
    gen = torch.Generator().manual_seed(int(seed))
    # 1. the initial dictionary from the similarity distributions
    n0 = min(int(init_rank), X.shape[0], Y.shape[0])
    sx, sy = _sorted_similarity(X[:n0]), _sorted_similarity(Y[:n0])  # (n0, n0) each
    ry, rx = _mean_topk_cos(sy, sx, csls_k), _mean_topk_cos(sx, sy, csls_k)
    fwd, _ = _csls_argmax(sx, sy, ry, 1.0, None)  # (n0,) target of each source word
    bwd, _ = _csls_argmax(sy, sx, rx, 1.0, None)  # (n0,) source of each target word
    a = torch.arange(n0)
    src, tgt = torch.cat([a, bwd]), torch.cat([fwd, a])
    log = [{"iter": 0, "objective": float("nan"), "keep": float(keep_init),
            "pairs": int(len(src))}]
    # 2. self-learning
    ns = X.shape[0] if max_rank is None else min(int(max_rank), X.shape[0])
    nt = Y.shape[0] if max_rank is None else min(int(max_rank), Y.shape[0])
    keep, best_obj, last_gain = float(keep_init), -float("inf"), 0
    for it in range(1, int(n_iter) + 1):
        W = procrustes(X[src], Y[tgt])  # (d, d)
        XW, Yc = _unit(X[:ns] @ W), Y[:nt]  # (ns, d), (nt, d)
        r_t = _mean_topk_cos(Yc, XW, csls_k)  # (nt,) density of each target word
        r_s = _mean_topk_cos(XW, Yc, csls_k)  # (ns,) of each mapped source word
        fwd, best_f = _csls_argmax(XW, Yc, r_t, keep, gen)
        bwd, best_b = _csls_argmax(Yc, XW, r_s, keep, gen)
        src = torch.cat([torch.arange(ns), bwd])
        tgt = torch.cat([fwd, torch.arange(nt)])
        obj = float((best_f.mean() + best_b.mean()) / 2)
        log.append({"iter": it, "objective": obj, "keep": keep, "pairs": int(len(src))})
        if obj - best_obj >= threshold:
            best_obj, last_gain = obj, it
        if it - last_gain > patience:
            if keep >= 1.0:
                break
            keep, last_gain = min(1.0, multiplier * keep), it
    W = procrustes(X[src], Y[tgt])
    if reweight is None:
        return W, torch.eye(X.shape[1]), log
    Wx, Wz = _reweighted_map(X[src], Y[tgt], float(reweight))
    return Wx, Wz, log


# -- evaluation ------------------------------------------------------------------------------------
def precision_at_k(topk: torch.Tensor, src_words: list[str], tgt_words: list[str],
                   truth: dict[str, frozenset[str]], ks: tuple[int, ...] = (1, 5)
                   ) -> dict[str, float]:
    """Precision@k of translations against a lexicon (MUSE's word-translation protocol).

    topk : (n, K) target ids, best first, row i for source word ``src_words[i]``.
    truth : source word -> its correct translations. A source word counts only if it is in
    ``truth`` and at least one of its translations is in ``tgt_words`` (else no answer could be
    right). A counted word scores at k when any of its first k candidates is a translation.

    Returns {"p@1": ..., "p@5": ..., "n": number of counted words} (fractions in [0, 1]; 0
    when nothing counts).
    """
    vocab = set(tgt_words)
    topk = torch.as_tensor(topk).reshape(len(topk), -1).tolist()
    hits = {k: 0 for k in ks}
    n = 0
    for i, cand in enumerate(topk):
        good = truth.get(src_words[i])
        if not good or not (good & vocab):
            continue
        n += 1
        for k in ks:
            hits[k] += any(tgt_words[j] in good for j in cand[:k])
    out = {f"p@{k}": hits[k] / n if n else 0.0 for k in ks}
    out["n"] = n
    return out


# -- MUSE's adversarial map ------------------------------------------------------------------------
@dataclass
class AlignConfig:
    """Configuration of :class:`AdversarialAligner` (stored in the checkpoint card)."""

    dim: int = 64
    """Embedding dimension d of both languages."""
    n_src: int = 1000
    """Source vocabulary size (rows of ``src_emb``)."""
    n_tgt: int = 1000
    """Target vocabulary size (rows of ``tgt_emb``)."""
    most_frequent: int = 0
    """The discriminator sees only the this-many most frequent words of each side (MUSE:
    75,000 of 200,000); 0: every word."""
    disc_hidden: int = 512
    """Units of each of the discriminator's two hidden layers (MUSE: 2048; 512 trains in a
    fraction of the time on a CPU)."""
    disc_dropout: float = 0.1
    """Dropout on the discriminator's input (MUSE: 0.1), drawn from the model's RNG."""
    smoothing: float = 0.1
    """Label smoothing: the discriminator's targets are 1 - s (mapped source) and s (target)."""
    disc_steps: int = 5
    """Discriminator updates per mapping update (MUSE: 5)."""
    map_lr: float = 0.1
    """SGD learning rate of the map W (MUSE: 0.1)."""
    disc_lr: float = 0.1
    """SGD learning rate of the discriminator (MUSE: 0.1)."""
    lr_decay: float = 1.0
    """Both learning rates are multiplied by this per 1,000 steps (MUSE: 0.98 per epoch);
    1: constant. A function of the step, so a resume follows it exactly."""
    beta: float = 0.001
    """Orthogonalization after each mapping update (MUSE's orthogonalization update):
    W ← (1 + β) W − β (W Wᵀ) W; 0 turns it off."""
    batch_size: int = 32
    """Words of each language per discriminator or mapping update (MUSE: 32)."""
    seed: int = 0
    """Seed of the discriminator's initial weights and of every in-step draw."""

    @classmethod
    def tiny(cls, **overrides) -> "AlignConfig":
        """A very small variant for tests."""
        return cls(**{"dim": 16, "n_src": 100, "n_tgt": 100, "disc_hidden": 32,
                      "batch_size": 16, **overrides})


class _Discriminator(nn.Module):
    """Mapped source word vs target word: d → hidden → hidden → 1 logit, LeakyReLU(0.2)
    (MUSE's architecture); the input dropout is applied by the caller with its own RNG."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (b, d) -> (b,) logits
        return self.net(x)[:, 0]


@register("muse_align")
class AdversarialAligner(Model):
    """MUSE's adversarial alignment (Conneau et al. 2018, section 2.1).

    A discriminator D learns to tell mapped source words x W from target words y (it
    minimises -log P(src | xW) - log P(tgt | y), with label smoothing); the map W learns to fool
    it (the same loss with the labels swapped). After each update of W, the orthogonalization
    (``beta``) pulls it back towards the orthogonal matrices, which keeps distances and makes
    the map invertible. Train through :func:`unsup.train.fit`; ``train_step`` ignores its
    batch's content (any tensor of ``n`` rows does) and draws its words from ``self.rng``.
    Afterwards refine with :func:`refine` (``model.W``).

    Buffers ``src_emb`` (n_src, d) and ``tgt_emb`` (n_tgt, d): the normalized embeddings, set
    with :meth:`set_embeddings` before training and saved with the weights.
    """

    config_class = AlignConfig
    monitor = None  # adversarial losses have no "best"

    def __init__(self, config: AlignConfig):
        super().__init__(config)
        c = config
        if min(c.dim, c.n_src, c.n_tgt, c.disc_hidden, c.batch_size, c.disc_steps) < 1:
            raise ValueError("dim, vocabulary sizes, disc_hidden, batch_size and disc_steps "
                             "must be positive")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(c.seed))
            self.disc = _Discriminator(c.dim, c.disc_hidden)
        self.W = nn.Parameter(torch.eye(c.dim))  # (d, d): mapped = src @ W
        self.register_buffer("src_emb", torch.zeros(c.n_src, c.dim))
        self.register_buffer("tgt_emb", torch.zeros(c.n_tgt, c.dim))
        self._opts: dict[str, torch.optim.Optimizer] | None = None

    def compact_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A finished checkpoint keeps the map and the tables, not the discriminator (it only
        matters to resume exactly); loading puts a fresh one back."""
        return {k: v for k, v in state.items() if not k.startswith("disc.")}

    def complete_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if any(k.startswith("disc.") for k in state):
            return state
        return {**state, **{f"disc.{k}": v for k, v in self.disc.state_dict().items()}}

    def set_embeddings(self, X: torch.Tensor, Y: torch.Tensor, *, normalized: bool = False
                       ) -> "AdversarialAligner":
        """Store the two tables (normalize them unless ``normalized``); X (n_src, d), Y
        (n_tgt, d) as the config says."""
        if tuple(X.shape) != tuple(self.src_emb.shape) or tuple(Y.shape) != tuple(
                self.tgt_emb.shape):
            raise ValueError(f"embeddings of shapes {tuple(X.shape)}, {tuple(Y.shape)} do not "
                             f"fit the config's {tuple(self.src_emb.shape)}, "
                             f"{tuple(self.tgt_emb.shape)}")
        with torch.no_grad():
            self.src_emb.copy_(X if normalized else normalize(X))
            self.tgt_emb.copy_(Y if normalized else normalize(Y))
        return self

    def mapped(self) -> torch.Tensor:
        """The source table mapped into the target space: src_emb @ W, (n_src, d)."""
        with torch.no_grad():
            return self.src_emb @ self.W

    # -- training ----------------------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self._opts is None:
            self._opts = {"map": torch.optim.SGD([self.W], lr=self.config.map_lr),
                          "disc": torch.optim.SGD(self.disc.parameters(),
                                                  lr=self.config.disc_lr)}
        return self._opts

    def _words(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of source and of target word ids among the most frequent (self.rng)."""
        c, bs = self.config, self.batch_size
        ns = c.n_src if c.most_frequent <= 0 else min(c.most_frequent, c.n_src)
        nt = c.n_tgt if c.most_frequent <= 0 else min(c.most_frequent, c.n_tgt)
        s = torch.randint(ns, (bs,), generator=self.rng).to(self.device)
        t = torch.randint(nt, (bs,), generator=self.rng).to(self.device)
        return s, t

    def orthogonalize(self) -> None:
        """MUSE's orthogonalization: W ← (1 + β) W − β (W Wᵀ) W (a step towards the orthogonal manifold)."""
        b = float(self.config.beta)
        if b > 0:
            with torch.no_grad():
                W = self.W
                W.copy_((1 + b) * W - b * (W @ W.T) @ W)

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """``disc_steps`` discriminator updates, one mapping update, one orthogonalization.
        Returns {"d_loss", "map_loss", "d_acc"} (the discriminator's mean loss and accuracy
        over its updates, the map's loss)."""
        c, bs = self.config, self.batch_size
        opts = self.optimizers()
        scale = float(c.lr_decay) ** (self.step_ / 1000.0)
        opts["map"].param_groups[0]["lr"] = c.map_lr * scale
        opts["disc"].param_groups[0]["lr"] = c.disc_lr * scale
        self.train()
        # labels (2bs,): mapped source 1 - s, target s
        y = torch.cat([torch.full((bs,), 1.0 - c.smoothing), torch.full((bs,), c.smoothing)]
                      ).to(self.device)
        d_loss = d_acc = 0.0
        for _ in range(int(c.disc_steps)):
            s, t = self._words()
            with torch.no_grad():
                x = torch.cat([self.src_emb[s] @ self.W, self.tgt_emb[t]])  # (2bs, d)
            if c.disc_dropout > 0:
                keep = self.rand(*x.shape) >= c.disc_dropout
                x = x * keep / (1.0 - c.disc_dropout)
            logits = self.disc(x)  # (2bs,)
            loss = F.binary_cross_entropy_with_logits(logits, y)
            opts["disc"].zero_grad(set_to_none=True)
            loss.backward()
            opts["disc"].step()
            d_loss += float(loss.detach()) / c.disc_steps
            d_acc += float(((logits.detach() > 0) == (y > 0.5)).float().mean()) / c.disc_steps
        # the map fools D: the same loss with the labels swapped (no dropout, as MUSE's eval())
        s, t = self._words()
        x = torch.cat([self.src_emb[s] @ self.W, self.tgt_emb[t]])
        m_loss = F.binary_cross_entropy_with_logits(self.disc(x), 1.0 - y)
        opts["map"].zero_grad(set_to_none=True)
        m_loss.backward()
        opts["map"].step()
        self.disc.zero_grad(set_to_none=True)
        self.orthogonalize()
        return {"d_loss": d_loss, "map_loss": float(m_loss.detach()), "d_acc": d_acc}


# -- Vecmap as a learner -----------------------------------------------------------------------------
@dataclass
class VecmapConfig:
    """Configuration of :class:`VecmapAligner` (stored in the checkpoint card)."""

    dim: int = 64
    """Embedding dimension d of both languages."""
    n_src: int = 1000
    """Source vocabulary size (rows of ``src_emb``)."""
    n_tgt: int = 1000
    """Target vocabulary size (rows of ``tgt_emb``)."""
    init_rank: int = 4_000
    """The initial dictionary compares the similarity distributions of this many most frequent
    words of each side (Artetxe et al. 2018: 4,000)."""
    max_rank: int = 20_000
    """Self-learning induces dictionaries among this many most frequent words (their
    frequency cutoff: 20,000)."""
    csls_k: int = 10
    """Neighbours of CSLS's density term."""
    keep_init: float = 0.1
    """Stochastic dictionary induction: the first keep probability p (the paper's 0.1)."""
    patience: int = 50
    """Iterations without an improvement of the objective before p grows (the paper's 50)."""
    multiplier: float = 2.0
    """p ← min(1, multiplier · p) when the objective stalls (the paper's 2)."""
    threshold: float = 1e-6
    """The least gain of the objective counted as an improvement."""
    seed: int = 0
    """Seed of the stochastic dictionary induction."""

    @classmethod
    def tiny(cls, **overrides) -> "VecmapConfig":
        """A very small variant for tests."""
        return cls(**{"dim": 16, "n_src": 100, "n_tgt": 100, "patience": 5, **overrides})


@register("vecmap_align")
class VecmapAligner(Model):
    """:func:`vecmap`, one self-learning iteration per training step, so it runs through
    :func:`unsup.train.fit` like every learner: progress, Stop, checkpoints and an exact resume
    (the dictionary, the keep probability and the stall counter are buffers; the stochastic
    induction draws from ``self.rng``).

    Step 0 builds the initial dictionary from the similarity distributions; every later step is
    one robust self-learning iteration (orthogonal map of the dictionary, new dictionary by
    CSLS with stochastic and bidirectional induction). Once p = 1 has stalled too, the run has
    converged and further steps change nothing. ``W`` is always the orthogonal map of the
    current dictionary (so X @ W is comparable to Y, as MUSE's map); re-weighting is not used.
    """

    config_class = VecmapConfig
    monitor = None  # the objective rises; nothing to watch for divergence

    def __init__(self, config: VecmapConfig):
        super().__init__(config)
        c = config
        if min(c.dim, c.n_src, c.n_tgt, c.init_rank, c.max_rank, c.csls_k) < 1:
            raise ValueError("dim, vocabulary sizes, ranks and csls_k must be positive")
        if not 0 < c.keep_init <= 1:
            raise ValueError("keep_init must be in (0, 1]")
        self.register_buffer("src_emb", torch.zeros(c.n_src, c.dim))
        self.register_buffer("tgt_emb", torch.zeros(c.n_tgt, c.dim))
        self.register_buffer("W", torch.eye(c.dim))  # (d, d): mapped = src @ W
        n = max(self._ns + self._nt, 2 * min(c.init_rank, c.n_src, c.n_tgt))
        self.register_buffer("dict_src", torch.zeros(n, dtype=torch.long))  # (ns + nt,)
        self.register_buffer("dict_tgt", torch.zeros(n, dtype=torch.long))
        # [pairs in use, keep probability, best objective, step of the last gain, converged,
        #  last objective]
        self.register_buffer("state", torch.tensor([0.0, c.keep_init, -1e9, 0.0, 0.0,
                                                    float("nan")], dtype=torch.float64))
        # a learner without parameters still needs something for the optimizer contract
        self._dummy = nn.Parameter(torch.zeros(1), requires_grad=False)
        self._opts: dict[str, torch.optim.Optimizer] | None = None

    @property
    def _ns(self) -> int:
        return min(int(self.config.max_rank), int(self.config.n_src))

    @property
    def _nt(self) -> int:
        return min(int(self.config.max_rank), int(self.config.n_tgt))

    set_embeddings = AdversarialAligner.set_embeddings

    def mapped(self) -> torch.Tensor:
        """The source table mapped into the target space: src_emb @ W, (n_src, d)."""
        return self.src_emb @ self.W

    @property
    def converged(self) -> bool:
        return bool(self.state[4] > 0)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        # nothing is optimized by gradient (each step solves Procrustes in closed form); an
        # optimizer over a frozen dummy keeps the checkpoint format of every other learner
        if self._opts is None:
            self._opts = {"none": torch.optim.SGD([self._dummy], lr=0.0)}
        return self._opts

    def _set_dictionary(self, src: torch.Tensor, tgt: torch.Tensor) -> None:
        m = len(src)
        self.dict_src[:m], self.dict_tgt[:m] = src, tgt
        self.state[0] = m
        self.W.copy_(procrustes(self.src_emb[src], self.tgt_emb[tgt]))

    def dictionary(self) -> torch.Tensor:
        """The current dictionary, (m, 2) pairs of (source id, target id)."""
        m = int(self.state[0])
        return torch.stack([self.dict_src[:m], self.dict_tgt[:m]], 1)

    @torch.no_grad()
    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """Step 0: the initial dictionary; later steps: one self-learning iteration (see the
        class docstring). Returns {"objective", "keep", "pairs"} (the objective is the mean
        best cosine of both directions, higher is better; at step 0 that of the initial map)."""
        c, st = self.config, self.state
        X, Y = self.src_emb, self.tgt_emb
        if int(st[0]) == 0:
            n0 = min(int(c.init_rank), X.shape[0], Y.shape[0])
            sx, sy = _sorted_similarity(X[:n0]), _sorted_similarity(Y[:n0])  # (n0, n0)
            ry, rx = _mean_topk_cos(sy, sx, c.csls_k), _mean_topk_cos(sx, sy, c.csls_k)
            fwd, _ = _csls_argmax(sx, sy, ry, 1.0, None)
            bwd, _ = _csls_argmax(sy, sx, rx, 1.0, None)
            a = torch.arange(n0)
            self._set_dictionary(torch.cat([a, bwd]), torch.cat([fwd, a]))
            st[3] = self.step_
            # the objective of the initial map (the same measure as every later step's)
            XW, Yc = _unit(X[:self._ns] @ self.W), Y[:self._nt]
            obj = float(((XW @ Yc.T).max(1).values.mean() + (Yc @ XW.T).max(1).values.mean()) / 2)
            return {"objective": obj, "keep": float(st[1]), "pairs": float(st[0])}
        if self.converged:
            return {"objective": float(st[5]), "keep": float(st[1]), "pairs": float(st[0])}
        ns, nt, keep = self._ns, self._nt, float(st[1])
        XW, Yc = _unit(X[:ns] @ self.W), Y[:nt]  # (ns, d), (nt, d)
        r_t = _mean_topk_cos(Yc, XW, c.csls_k)  # (nt,)
        r_s = _mean_topk_cos(XW, Yc, c.csls_k)  # (ns,)
        fwd, best_f = _csls_argmax(XW, Yc, r_t, keep, self.rng)
        bwd, best_b = _csls_argmax(Yc, XW, r_s, keep, self.rng)
        self._set_dictionary(torch.cat([torch.arange(ns), bwd]), torch.cat([fwd, torch.arange(nt)]))
        obj = float((best_f.mean() + best_b.mean()) / 2)
        st[5] = obj
        if obj - float(st[2]) >= c.threshold:
            st[2], st[3] = obj, self.step_
        if self.step_ - int(st[3]) > c.patience:
            if keep >= 1.0:
                st[4] = 1.0
            else:
                st[1], st[3] = min(1.0, c.multiplier * keep), self.step_
        return {"objective": obj, "keep": keep, "pairs": float(st[0])}
