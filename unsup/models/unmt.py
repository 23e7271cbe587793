"""Unsupervised neural machine translation: Lample, Conneau, Denoyer & Ranzato 2018,
"Unsupervised machine translation using monolingual corpora only" (ICLR), scaled down to a
2-core CPU.

Two languages, index 0 and 1, each with its own token ids (specials :data:`PAD`, :data:`BOS`,
:data:`EOS`, :data:`UNK`, then words). One model translates both ways:

- **embeddings**, one table per language (``emb_dim``); :meth:`UNMT.set_embeddings` fills a
  language's table from aligned cross-lingual word vectors (the paper initialises from
  unsupervised word translation, so that a word and its translation start close), optionally
  frozen. The four special rows of each language always train;
- **one shared encoder**: a bidirectional GRU (``hidden // 2`` per direction, ``n_layers``)
  over the source language's embeddings -> states z = e(x, ℓ) (b, t, hidden). Sharing it is what
  pushes both languages into one latent space;
- **one shared attention decoder**: a GRU fed the *target* language's embeddings (its own BOS
  row is the language start token), global "general" attention over z (Luong et al. 2015,
  computed after the GRU, so a teacher-forced pass is one GRU call), tanh(W [h; c]), then the
  target language's own output layer. d(z, ℓ) is this decoder producing language ℓ.

Training objectives (the paper's section 2; all cross-entropies per target token):

- **denoising autoencoding**:
  L_auto(ℓ) = E_{x ~ D_ℓ} [ Δ(x̂, x) ],  x̂ = d(e(C(x), ℓ), ℓ),
  where C is the noise model (:func:`add_noise`): word dropout with probability ``p_drop`` and
  a local shuffle in which no word moves more than ``shuffle_k`` places;
- **back-translation** ("cross-domain training"):
  L_cd(ℓ1, ℓ2) = E_{x ~ D_ℓ1} [ Δ(x̂, x) ],  y = M(x) translated into ℓ2 (greedy, no gradient),
  x̂ = d(e(C(y), ℓ2), ℓ1),
  where M is the current model, or (``bt_refresh`` > 0) a frozen copy of it refreshed every
  ``bt_refresh`` steps (the paper's iterations M^(t) -> M^(t+1));
- **adversarial term**: a discriminator D on every (unpadded) encoder state
  predicts its language, L_D = -E[log p_D(ℓ | e(x, ℓ))]; the encoder is trained with flipped
  labels, L_adv = -E[log p_D(1 - ℓ | e(x, ℓ))], so that the two languages' codes become
  indistinguishable. D has its own optimizer;
- the final objective: λ_auto [L_auto(0) + L_auto(1)] + λ_cd [L_cd(0,1) + L_cd(1,0)]
  + λ_adv L_adv (each loss here a mean per target token over both languages).

A phase schedule lets one run show each ingredient: denoising from step 0 (unless
``lambda_auto`` = 0), back-translation from ``backtranslate_from`` (every ``bt_every`` steps),
the adversarial term from ``adversarial_from`` (< 0: never). ``supervised`` replaces all of it
by plain cross-entropy translation of *parallel* pairs both ways (the ceiling model).

``train_step(batch)``: ``batch`` LongTensor (b, 2, L): ``[:, 0]`` sentences of language 0,
``[:, 1]`` of language 1, each EOS-terminated and PAD-padded (unrelated sentences when
unsupervised, translations of each other when ``supervised``). Every random draw of a step
(noise, dropout) comes from ``self.rng``, so :func:`unsup.train.fit` resumes exactly.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from unsup.models.base import Model, register

PAD, BOS, EOS, UNK = 0, 1, 2, 3
"""Special token ids, the same in both languages."""
N_SPECIAL = 4
"""Ids below this are specials; words start here."""


@dataclass
class UNMTConfig:
    """Configuration of :class:`UNMT` (stored in the checkpoint card)."""

    n_words: tuple[int, int] = (900, 900)
    """Vocabulary size (specials included) of language 0 and of language 1."""
    max_len: int = 50
    """Longest sentence in tokens, EOS included: the cap of greedy translation."""
    emb_dim: int = 64
    """Size of the word embeddings (must equal the aligned vectors' size to set them)."""
    hidden: int = 128
    """Size of the encoder states (two directions of hidden // 2) and of the decoder's GRU."""
    n_layers: int = 1
    """GRU layers of the encoder and of the decoder."""
    dropout: float = 0.1
    """Dropout on embeddings, encoder states and the decoder's attentional output."""
    freeze_embeddings: tuple[bool, bool] = (False, False)
    """Keep each language's word embeddings fixed (set by :meth:`UNMT.set_embeddings`)."""
    p_drop: float = 0.1
    """Noise model C: probability of dropping each word (never every word of a sentence)."""
    shuffle_k: int = 3
    """Noise model C: no word moves more than this many places (the paper's k = 3)."""
    lambda_auto: float = 1.0
    """Weight of the denoising autoencoding loss (0: off)."""
    lambda_bt: float = 1.0
    """Weight of the back-translation (cross-domain) loss."""
    lambda_adv: float = 0.1
    """Weight of the encoder's adversarial loss (flipped labels); below the paper's 1, so the
    term shapes the small encoder's codes without dominating the reconstruction losses."""
    backtranslate_from: int = 500
    """Step from which back-translation is on (< 0: never)."""
    bt_every: int = 2
    """Back-translate on every this many steps once it is on (the other steps denoise only):
    a back-translating step trains on twice the rows and costs about twice as much (the
    greedy translation itself is ~5% of it), so 2 keeps a 2-core run near 10k steps in 25 min."""
    bt_refresh: int = 0
    """Back-translate with a frozen copy of the model refreshed every this many steps
    (0: with the current model)."""
    adversarial_from: int = -1
    """Step from which the adversarial term is on (< 0: never; no discriminator is built)."""
    supervised: bool = False
    """Parallel batches, plain cross-entropy translation both ways (the ceiling model)."""
    d_hidden: int = 128
    """Width of the discriminator's two hidden layers."""
    lr: float = 1e-3
    """Adam learning rate of the encoder-decoder."""
    lr_d: float = 5e-4
    """Adam learning rate of the discriminator."""
    clip_norm: float = 5.0
    """Clip the encoder-decoder's gradient to this norm (0: no clipping)."""
    batch_size: int = 32
    """Sentence pairs per step."""
    seed: int = 0
    """Seed of the weights, the batch order, the noise and the dropout."""

    def __post_init__(self):  # a card stores tuples as JSON lists
        self.n_words = tuple(int(n) for n in self.n_words)
        self.freeze_embeddings = tuple(bool(f) for f in self.freeze_embeddings)

    @classmethod
    def tiny(cls, **overrides) -> "UNMTConfig":
        """A very small variant for tests: 24 ids per language, narrow layers."""
        values = dict(n_words=(24, 24), max_len=12, emb_dim=16, hidden=32, d_hidden=16,
                      batch_size=8, dropout=0.0)
        values.update(overrides)
        return cls(**values)


def _check(cfg: UNMTConfig) -> None:
    if len(cfg.n_words) != 2 or min(cfg.n_words) <= N_SPECIAL:
        raise ValueError(f"n_words must give two vocabularies larger than {N_SPECIAL}")
    if cfg.hidden % 2:
        raise ValueError("hidden must be even (two encoder directions of hidden // 2)")
    if cfg.max_len < 2:
        raise ValueError("max_len must be at least 2")
    if not 0 <= cfg.p_drop < 1 or cfg.shuffle_k < 0:
        raise ValueError("p_drop must be in [0, 1) and shuffle_k >= 0")
    if cfg.bt_every < 1 or cfg.bt_refresh < 0:
        raise ValueError("bt_every must be >= 1 and bt_refresh >= 0")


# -- the noise model C(x) -----------------------------------------------------------------------
def sentence_lengths(ids: torch.Tensor) -> torch.Tensor:
    """Tokens before the padding (EOS included) of each row of ``ids`` (b, t) -> (b,)."""
    return (ids != PAD).sum(1)


def add_noise(ids: torch.Tensor, generator: torch.Generator, p_drop: float = 0.1,
              k: int = 3) -> torch.Tensor:
    """The paper's noise model C(x) on a batch of sentences (b, t): word ids, EOS, PAD.

    1. word dropout: each word is dropped with probability ``p_drop``; a sentence that would
       lose every word keeps one of them (drawn uniformly);
    2. local shuffle: the kept words, at positions i = 0..m-1, are sorted by
       q_i = i + U(0, k + 1), so that no word moves more than k places (|σ(i) - i| <= k:
       j > i + k always has q_j >= i + k + 1 > q_i).

    EOS and PAD are never moved or dropped: the output (b, t) is the noisy words, then EOS (if
    the row had one), then PAD. Exactly three tensors of uniforms are drawn from ``generator``
    whatever the content, so the draws depend on the shape alone.
    """
    b, t = ids.shape
    dev = ids.device
    u_drop = torch.rand(b, t, generator=generator).to(dev)
    u_shuf = torch.rand(b, t, generator=generator).to(dev)
    u_keep = torch.rand(b, generator=generator).to(dev)
    is_word = (ids != PAD) & (ids != EOS)
    n_word = is_word.sum(1)  # (b,)
    keep = is_word & (u_drop >= p_drop)
    # a row that dropped every word keeps its r-th word, r uniform in [0, n_word)
    empty = (keep.sum(1) == 0) & (n_word > 0)
    if bool(empty.any()):
        r = (u_keep * n_word).long().clamp(max=(n_word - 1).clamp_min(0))  # (b,)
        rank = is_word.long().cumsum(1) - 1  # (b, t): index of each word among the words
        pick = is_word & (rank == r[:, None]) & empty[:, None]
        keep = keep | pick
    pos = keep.long().cumsum(1) - 1  # (b, t): position of each kept word once compacted
    big = float(t + k + 2)
    key = torch.where(keep, pos.float() + u_shuf * (k + 1),
                      big + torch.arange(t, device=dev, dtype=torch.float32)[None, :])
    order = key.argsort(dim=1, stable=True)  # (b, t): kept words first, in noisy order
    words = ids.gather(1, order)
    m = keep.sum(1, keepdim=True)  # (b, 1)
    col = torch.arange(t, device=dev)[None, :]
    had_eos = (ids == EOS).any(1, keepdim=True)
    out = torch.where(col < m, words, torch.full_like(ids, PAD))
    return torch.where((col == m) & had_eos, torch.full_like(ids, EOS), out)


def _dropout(x: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """Inverted dropout drawn from ``generator`` (None: off, as in evaluation)."""
    if generator is None or p <= 0:
        return x
    keep = torch.rand(x.shape, generator=generator).to(x.device) >= p
    return x * keep.to(x.dtype) / (1.0 - p)


def _pad_to(ids: torch.Tensor, t: int) -> torch.Tensor:
    """Right-pad (b, t0) ids with PAD to (b, t) (t >= t0)."""
    return F.pad(ids, (0, t - ids.shape[1]), value=PAD) if ids.shape[1] < t else ids


def trim(ids: torch.Tensor) -> torch.Tensor:
    """Drop trailing columns that are PAD in every row (at least one column is kept)."""
    n = int(sentence_lengths(ids).max()) if ids.numel() else 1
    return ids[:, :max(1, n)]


# -- the networks -------------------------------------------------------------------------------
class Seq2Seq(nn.Module):
    """Embeddings of both languages, the shared encoder, the shared attention decoder and the
    two output layers. Tokens of several languages travel in one batch: a row's local id i of
    language ℓ is the global id i + offset[ℓ] of one concatenated embedding table."""

    def __init__(self, cfg: UNMTConfig):
        super().__init__()
        e, h = cfg.emb_dim, cfg.hidden
        self.cfg = cfg
        self.specials = nn.Parameter(torch.randn(2, N_SPECIAL, e) / e ** 0.5)
        self.words = nn.ParameterList(
            [nn.Parameter(torch.randn(n - N_SPECIAL, e) / e ** 0.5) for n in cfg.n_words])
        self.register_buffer("offsets", torch.tensor([0, cfg.n_words[0]]), persistent=False)
        self.encoder = nn.GRU(e, h // 2, cfg.n_layers, batch_first=True, bidirectional=True)
        self.init_h = nn.Linear(h, cfg.n_layers * h)
        self.decoder = nn.GRU(e, h, cfg.n_layers, batch_first=True)
        self.attn = nn.Linear(h, h, bias=False)
        self.combine = nn.Linear(2 * h, h)
        self.out = nn.ModuleList([nn.Linear(h, n) for n in cfg.n_words])

    def table(self) -> torch.Tensor:
        """The concatenated embedding table (n0 + n1, emb_dim)."""
        return torch.cat([self.specials[0], self.words[0], self.specials[1], self.words[1]])

    def embed(self, ids: torch.Tensor, lang: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """Local ids (b, t) of languages ``lang`` (b,) -> embeddings (b, t, emb_dim)."""
        return F.embedding(ids + self.offsets[lang][:, None], table)

    def encode(self, ids: torch.Tensor, lang: torch.Tensor, gen: torch.Generator | None = None,
               table: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """z = e(x, ℓ): ids (b, t), lang (b,) -> states (b, t, hidden), mask (b, t) (True on
        tokens). Padding never reaches a state (packed sequences): a sentence encodes the
        same alone or in any batch."""
        table = self.table() if table is None else table
        lens = sentence_lengths(ids).clamp_min(1)
        x = _dropout(self.embed(ids, lang, table), self.cfg.dropout, gen)
        packed = nn.utils.rnn.pack_padded_sequence(x, lens.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        z, _ = self.encoder(packed)
        z, _ = nn.utils.rnn.pad_packed_sequence(z, batch_first=True, total_length=ids.shape[1])
        mask = torch.arange(ids.shape[1], device=ids.device)[None, :] < lens[:, None]
        return z, mask

    def start(self, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Initial decoder state (n_layers, b, hidden): tanh of a linear map of the mean code."""
        m = mask.unsqueeze(-1).to(z.dtype)
        mean = (z * m).sum(1) / m.sum(1).clamp_min(1.0)
        h0 = torch.tanh(self.init_h(mean))  # (b, n_layers * hidden)
        return h0.view(len(z), self.cfg.n_layers, -1).transpose(0, 1).contiguous()

    def attend(self, o: torch.Tensor, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Decoder outputs o (b, s, hidden) attend over z (b, t, hidden) -> tanh(W [o; c])
        (b, s, hidden), with a = softmax_j(o_i · W_a z_j) over the unpadded j."""
        scores = torch.bmm(self.attn(o), z.transpose(1, 2))  # (b, s, t)
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        ctx = torch.bmm(torch.softmax(scores, dim=-1), z)  # (b, s, hidden)
        return torch.tanh(self.combine(torch.cat([o, ctx], dim=-1)))

    def token_losses(self, src: torch.Tensor, src_lang: torch.Tensor, tgt: torch.Tensor,
                     tgt_lang: torch.Tensor, gen: torch.Generator | None
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher-forced Δ(x̂, x) per row.

        src (b, t) of languages src_lang (b,), tgt (b, s) of languages tgt_lang (b,) (EOS
        terminated) -> (summed cross-entropy per row (b,), target tokens per row (b,),
        encoder states (b, t, hidden), their mask (b, t))."""
        table = self.table()
        z, mask = self.encode(src, src_lang, gen, table)
        zd = _dropout(z, self.cfg.dropout, gen)
        bos = torch.full_like(tgt[:, :1], BOS)
        prev = torch.cat([bos, tgt[:, :-1]], dim=1)  # (b, s)
        y = _dropout(self.embed(prev, tgt_lang, table), self.cfg.dropout, gen)
        o, _ = self.decoder(y, self.start(zd, mask))  # (b, s, hidden)
        a = _dropout(self.attend(o, zd, mask), self.cfg.dropout, gen)
        ce = torch.zeros(len(tgt), device=tgt.device)
        for lang in (0, 1):
            rows = (tgt_lang == lang).nonzero().squeeze(1)
            if len(rows) == 0:
                continue
            logits = self.out[lang](a[rows])  # (r, s, n_lang)
            loss = F.cross_entropy(logits.flatten(0, 1), tgt[rows].flatten(), ignore_index=PAD,
                                   reduction="none").view(len(rows), -1).sum(1)
            ce = ce.index_add(0, rows, loss)
        return ce, (tgt != PAD).sum(1), z, mask

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, src_lang: torch.Tensor, tgt_lang: torch.Tensor,
               max_len: int) -> torch.Tensor:
        """Greedy translation of src (b, t) from src_lang (b,) into tgt_lang (b,) ->
        (b, s <= max_len), each row EOS-terminated (EOS forced at max_len) and PAD after."""
        table = self.table()
        z, mask = self.encode(src, src_lang, None, table)
        h = self.start(z, mask)
        b = len(src)
        prev = torch.full((b, 1), BOS, dtype=torch.long, device=src.device)
        done = torch.zeros(b, dtype=torch.bool, device=src.device)
        groups = [(lang, (tgt_lang == lang).nonzero().squeeze(1)) for lang in (0, 1)]
        out = []
        for i in range(max_len):
            o, h = self.decoder(self.embed(prev, tgt_lang, table), h)
            a = self.attend(o, z, mask)[:, 0]  # (b, hidden)
            tok = torch.empty(b, dtype=torch.long, device=src.device)
            for lang, rows in groups:
                if len(rows):
                    tok[rows] = self.out[lang](a[rows]).argmax(-1)
            if i == max_len - 1:
                tok.fill_(EOS)
            tok = tok.masked_fill(done, PAD)
            out.append(tok)
            done = done | (tok == EOS)
            if bool(done.all()):
                break
            prev = tok[:, None]
        return torch.stack(out, dim=1)


class Discriminator(nn.Module):
    """An encoder state (n, hidden) -> logit (n,) of "language 1": two hidden layers with
    LeakyReLU(0.2)."""

    def __init__(self, cfg: UNMTConfig):
        super().__init__()
        d = cfg.d_hidden
        self.net = nn.Sequential(nn.Linear(cfg.hidden, d), nn.LeakyReLU(0.2), nn.Linear(d, d),
                                 nn.LeakyReLU(0.2), nn.Linear(d, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(-1)


# -- the model ----------------------------------------------------------------------------------
@register("unmt")
class UNMT(Model):
    """Unsupervised (or, with ``supervised``, supervised) NMT between languages 0 and 1; see
    the module docstring for the architecture, the losses and the schedule."""

    config_class = UNMTConfig
    monitor = None
    """No "best so far" copy: the losses change meaning as the phases switch on."""

    def __init__(self, config: UNMTConfig):
        super().__init__(config)
        _check(config)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(config.seed))
            self.net = Seq2Seq(config)
            self.disc = Discriminator(config) if config.adversarial_from >= 0 else None
        self.frozen: Seq2Seq | None = None
        if config.bt_refresh > 0 and config.backtranslate_from >= 0 and not config.supervised:
            self.frozen = copy.deepcopy(self.net).requires_grad_(False).eval()
        self._apply_freeze()
        self._opts: dict[str, torch.optim.Optimizer] | None = None

    def _apply_freeze(self) -> None:
        for lang in (0, 1):
            self.net.words[lang].requires_grad_(not self.config.freeze_embeddings[lang])

    def set_embeddings(self, lang: int, vectors: torch.Tensor, freeze: bool = False) -> None:
        """Initialise language ``lang``'s embeddings from ``vectors`` (n_words[lang], emb_dim),
        e.g. aligned cross-lingual word vectors (unit length rows suit the default scale).
        Rows 0..3 (PAD, BOS, EOS, UNK) seed the special rows, which always train; ``freeze``
        keeps the word rows fixed (recorded in the config, so a checkpoint keeps it). Call it
        before training."""
        n = self.config.n_words[lang]
        vectors = torch.as_tensor(vectors, dtype=torch.float32)
        if tuple(vectors.shape) != (n, self.config.emb_dim):
            raise ValueError(f"language {lang} needs vectors of shape ({n}, "
                             f"{self.config.emb_dim}), got {tuple(vectors.shape)}")
        with torch.no_grad():
            self.net.specials[lang].copy_(vectors[:N_SPECIAL])
            self.net.words[lang].copy_(vectors[N_SPECIAL:])
            if self.frozen is not None:
                self.frozen.load_state_dict(self.net.state_dict())
        flags = list(self.config.freeze_embeddings)
        flags[lang] = bool(freeze)
        self.config.freeze_embeddings = tuple(flags)
        self._apply_freeze()

    # -- schedule ---------------------------------------------------------------------------
    def bt_active(self, step: int | None = None) -> bool:
        """Whether back-translation trains at ``step`` (default: the current step)."""
        c, s = self.config, self.step_ if step is None else step
        return (not c.supervised and c.backtranslate_from >= 0 and s >= c.backtranslate_from
                and (s - c.backtranslate_from) % c.bt_every == 0)

    def adv_active(self, step: int | None = None) -> bool:
        """Whether the adversarial term trains at ``step`` (default: the current step)."""
        c, s = self.config, self.step_ if step is None else step
        return not c.supervised and c.adversarial_from >= 0 and s >= c.adversarial_from

    # -- inference --------------------------------------------------------------------------
    def _langs(self, n: int, lang: int) -> torch.Tensor:
        return torch.full((n,), int(lang), dtype=torch.long, device=self.device)

    @torch.no_grad()
    def encode(self, ids: torch.Tensor, lang: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder states of sentences ids (b, t) of language ``lang`` -> (states
        (b, t, hidden), mask (b, t), True on tokens), in evaluation mode."""
        was = self.net.training
        self.net.eval()
        try:
            ids = ids.to(self.device).long()
            return self.net.encode(ids, self._langs(len(ids), lang))
        finally:
            self.net.train(was)

    @torch.no_grad()
    def translate(self, ids: torch.Tensor, src: int, tgt: int, max_len: int | None = None
                  ) -> torch.Tensor:
        """Greedy translation of ids (b, t) (EOS-terminated, PAD-padded) from language ``src``
        into ``tgt`` -> (b, t') token ids, each row ending at its EOS then PAD; t' <=
        ``max_len`` (default the config's). Rows do not influence each other."""
        was = self.net.training
        self.net.eval()
        try:
            ids = trim(ids.to(self.device).long())
            return self.net.greedy(ids, self._langs(len(ids), src), self._langs(len(ids), tgt),
                                   int(max_len or self.config.max_len))
        finally:
            self.net.train(was)

    # -- training ---------------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """"model" (embeddings, encoder, decoder, output layers) and, with an adversarial
        term, "disc": Adam."""
        if self._opts is None:
            c = self.config
            self._opts = {"model": torch.optim.Adam(self.net.parameters(), lr=c.lr)}
            if self.disc is not None:
                self._opts["disc"] = torch.optim.Adam(self.disc.parameters(), lr=c.lr_d)
        return self._opts

    store_half = True  # finished checkpoints in float16 (measured as stored)
    codes_images = False  # ``encode`` reads sentences: not a code of images for the atlas

    def compact_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A finished checkpoint leaves out the frozen back-translation copy and the latent
        discriminator (both only matter to resume exactly); loading puts the model's own
        weights in the copy and a fresh discriminator back."""
        return {k: v for k, v in state.items() if not k.startswith(("frozen.", "disc."))}

    def complete_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = dict(state)
        if self.frozen is not None and not any(k.startswith("frozen.") for k in state):
            out.update({f"frozen.{k[4:]}": v for k, v in state.items() if k.startswith("net.")})
        if self.disc is not None and not any(k.startswith("disc.") for k in state):
            out.update({f"disc.{k}": v for k, v in self.disc.state_dict().items()})
        return out

    def _noise(self, ids: torch.Tensor) -> torch.Tensor:
        c = self.config
        return add_noise(ids, self.rng, c.p_drop, c.shuffle_k)

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One step on ``batch`` (b, 2, L) (see the module docstring). Denoising rows
        C(x_ℓ) -> x_ℓ and, when on, back-translation rows C(M(x_ℓ)) -> x_ℓ go through the
        encoder-decoder as one batch; then, when on, a discriminator step on their (detached)
        codes and the encoder's flipped-label term. Returns "auto", "bt", "adv_d", "adv_g",
        "sup" (0.0 when off) and "loss" (the weighted total the model stepped on)."""
        c, dev = self.config, self.device
        batch = batch.to(dev).long()
        x0, x1 = trim(batch[:, 0]), trim(batch[:, 1])
        b = len(batch)
        opts = self.optimizers()
        self.net.train()
        zero, one = torch.zeros(b, dtype=torch.long, device=dev), torch.ones(
            b, dtype=torch.long, device=dev)
        logs = {"auto": 0.0, "bt": 0.0, "adv_d": 0.0, "adv_g": 0.0, "sup": 0.0}
        if c.supervised:
            t = max(x0.shape[1], x1.shape[1])
            src = torch.cat([_pad_to(x0, t), _pad_to(x1, t)])
            tgt = torch.cat([_pad_to(x1, t), _pad_to(x0, t)])  # x0 -> x1 and x1 -> x0
            ce, n, _, _ = self.net.token_losses(src, torch.cat([zero, one]), tgt,
                                                torch.cat([one, zero]), self.rng)
            loss = ce.sum() / n.sum().clamp_min(1)
            self._step_model(loss)
            logs.update(sup=float(loss.detach()), loss=float(loss.detach()))
            return logs
        # rows: (encoder input, its language, target, its language, group)
        rows: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, str]] = []
        if c.lambda_auto > 0:
            rows += [(self._noise(x0), zero, x0, zero, "auto"),
                     (self._noise(x1), one, x1, one, "auto")]
        if (self.frozen is not None and self.step_ >= c.backtranslate_from
                and (self.step_ - c.backtranslate_from) % c.bt_refresh == 0):
            self.frozen.load_state_dict(self.net.state_dict())  # M^(t) <- the current model
        if self.bt_active():
            teacher = self.net if self.frozen is None else self.frozen
            t = max(x0.shape[1], x1.shape[1])
            teacher.eval()
            y = teacher.greedy(torch.cat([_pad_to(x0, t), _pad_to(x1, t)]),
                               torch.cat([zero, one]), torch.cat([one, zero]), c.max_len)
            self.net.train()
            y1, y0 = y[:b], y[b:]  # y1 = M(x0) in language 1, y0 = M(x1) in language 0
            rows += [(self._noise(y1), one, x0, zero, "bt"),
                     (self._noise(y0), zero, x1, one, "bt")]
        if not rows:
            logs["loss"] = 0.0
            return logs
        t_src = max(r[0].shape[1] for r in rows)
        t_tgt = max(r[2].shape[1] for r in rows)
        src = torch.cat([_pad_to(r[0], t_src) for r in rows])
        tgt = torch.cat([_pad_to(r[2], t_tgt) for r in rows])
        src_lang = torch.cat([r[1] for r in rows])
        ce, n, z, mask = self.net.token_losses(src, src_lang, tgt, torch.cat([r[3] for r in rows]),
                                               self.rng)
        group = [g for r in rows for g in [r[4]] * b]
        loss = torch.zeros((), device=dev)
        for name, weight in (("auto", c.lambda_auto), ("bt", c.lambda_bt)):
            sel = torch.tensor([g == name for g in group], device=dev)
            if bool(sel.any()):
                part = ce[sel].sum() / n[sel].sum().clamp_min(1)
                loss = loss + weight * part
                logs[name] = float(part.detach())
        if self.adv_active() and self.disc is not None:
            codes = z[mask]  # (N, hidden): every unpadded encoder state
            label = src_lang[:, None].expand_as(mask)[mask].float()  # (N,)
            d_loss = F.binary_cross_entropy_with_logits(self.disc(codes.detach()), label)
            opts["disc"].zero_grad(set_to_none=True)
            d_loss.backward()
            opts["disc"].step()
            self.disc.requires_grad_(False)
            g_loss = F.binary_cross_entropy_with_logits(self.disc(codes), 1.0 - label)
            self.disc.requires_grad_(True)
            loss = loss + c.lambda_adv * g_loss
            logs.update(adv_d=float(d_loss.detach()), adv_g=float(g_loss.detach()))
        self._step_model(loss)
        logs["loss"] = float(loss.detach())
        return logs

    def _step_model(self, loss: torch.Tensor) -> None:
        opt = self.optimizers()["model"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.clip_norm > 0:
            nn.utils.clip_grad_norm_([p for p in self.net.parameters() if p.grad is not None],
                                     self.config.clip_norm)
        opt.step()
