"""Learners that fly Flappy Bird (:mod:`unsup.envs.flappy`): a genetic algorithm, an evolution
strategy and a policy gradient, all training the same small policy network (7 game features ->
``n_hidden`` tanh units -> the logit of "flap"), each on the one learner contract:

- one training step is one generation (GA, ES) or one batch of episodes (policy gradient);
- every step counts the **game frames** it consumed (every bird's frames added up, the elite's
  re-evaluations and the scoring of the current policy included), so the three can be compared at
  the same cost; ``frame_budget`` makes further steps change nothing once that many are spent;
- all the state lives in buffers (population, fitness, the current policy, frames, curves) or in
  the optimizer, and every random draw of a step comes from ``self.rng``, which
  :func:`unsup.train.fit` reseeds from (seed, step): N steps, save, load, M steps gives exactly
  the population of N + M steps;
- each keeps a curve per step (best / median / worst pipes of the step's birds, and the score of
  its current policy) in a buffer, thinned by halves when full, so a card can draw it.

Pipe seeds: training draws its pipe sequences from seeds below ``EVAL_SEED_BASE``; the held-out
scores use seeds from ``EVAL_SEED_BASE`` on, which training never sees.

No library (EvoTorch, DEAP, pygad, cma) is used: each algorithm is a dozen lines of NumPy here,
the cost is all in simulating the game, and a library's own random state and objects would have to
be pickled to resume exactly, which checkpoints here never do.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from torch import nn

from unsup.envs import flappy as E
from unsup.models.base import Model, register

EVAL_SEED_BASE = 1_000_000_000
"""Training pipe seeds are drawn in [0, EVAL_SEED_BASE); held-out seeds start here."""
HISTORY_ROWS = 512
CURVE_KEYS = ("step", "mframes", "best", "median", "worst", "score")
"""Columns of a learner's curve: step, game frames so far (millions), best / median / worst
pipes among the step's birds, and the score of its current policy (pipes; see each learner)."""


@dataclass
class GameConfig:
    """What every Flappy Bird learner shares."""

    level: str = E.DEFAULT_DIFFICULTY  # the difficulty's name (its numbers follow)
    gap: float = 90.0  # px between upper and lower pipe
    speed: float = 4.0  # px the pipes move per frame
    spacing: float = 150.0  # px from pipe to pipe
    top_min: float = 80.0  # the gaps' tops lie in [top_min, top_max] (px from the top)
    top_max: float = 230.0
    top_step: float = 0.0  # tops in steps of this many px (0: anywhere)
    move_amp: float = 15.0  # a gap swings this many px up and down (0: still pipes)
    move_period: float = 90.0  # frames per swing
    n_hidden: int = 8  # tanh units of the policy network
    max_frames: int = 3_000  # frame cap of a training episode (about 80 pipes)
    frame_budget: int = 0  # game frames after which steps change nothing (0: no budget)
    seed: int = 0  # seed of the first policies and of every step's draws

    @property
    def game(self) -> E.Difficulty:
        return E.Difficulty(**{f.name: float(getattr(self, f.name))
                               for f in fields(E.Difficulty)})


def level_fields(name: str) -> dict:
    """The config fields of the named difficulty (``level`` and its numbers)."""
    return {"level": name, **E.difficulty(name).to_dict()}


class GameLearner(Model):
    """What the three learners share: the game, the frame count, the curve, the step's NumPy
    generator (seeded from ``self.rng``) and the current policy (:meth:`policy_params`)."""

    monitor = None  # pipes rise; nothing to watch for divergence (non-finite weights still are)

    def __init__(self, config):
        super().__init__(config)
        self.game = config.game
        self.register_buffer("frames_", torch.zeros((), dtype=torch.int64))
        self.register_buffer("curve_", torch.full((HISTORY_ROWS, len(CURVE_KEYS)), float("nan"),
                                                  dtype=torch.float64))
        self.register_buffer("curve_every", torch.ones((), dtype=torch.int64))
        self.register_buffer("last_", torch.zeros(len(CURVE_KEYS), dtype=torch.float64))

    @property
    def n_params(self) -> int:
        return E.n_params(int(self.config.n_hidden))

    def np_rng(self) -> np.random.Generator:
        """This step's NumPy generator, from ``self.rng`` (reseeded by ``fit`` every step)."""
        return np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=self.rng)))

    def seconds_here(self) -> float:
        """Wall seconds since this object's first training step in this process (0 before it):
        a measurement for the card, not part of the learner's state."""
        t0 = getattr(self, "_t0", None)
        return 0.0 if t0 is None else time.perf_counter() - t0

    def spent(self) -> bool:
        b = int(self.config.frame_budget)
        return b > 0 and int(self.frames_) >= b

    def train_seeds(self, g: np.random.Generator, k: int) -> np.ndarray:
        return g.integers(0, EVAL_SEED_BASE, int(k))

    def play(self, seeds, policy, **kw) -> E.Episodes:
        """Play and count the frames."""
        if getattr(self, "_t0", None) is None:
            self._t0 = time.perf_counter()
        ep = E.play(self.game, seeds, policy, max_frames=int(self.config.max_frames), **kw)
        self.frames_ += ep.total_frames
        return ep

    def _log(self, pipes: np.ndarray, score: float) -> dict[str, float]:
        """Record this step's row of the curve and return what ``fit`` logs."""
        row = [float(self.step_ + 1), int(self.frames_) / 1e6, float(np.max(pipes)),
               float(np.median(pipes)), float(np.min(pipes)), float(score)]
        self.last_.copy_(torch.tensor(row, dtype=torch.float64))
        self._record(row)
        return self._logged()

    def _logged(self) -> dict[str, float]:
        r = self.last_.tolist()
        return {"best": r[2], "median": r[3], "worst": r[4], "score": r[5], "mframes": r[1]}

    def _record(self, row: list[float]) -> None:
        """Keep ``row`` if its step is due; when the buffer is full, drop every other row and
        double the interval (so any run length ends with evenly spaced rows)."""
        step = int(row[0])
        c, every = self.curve_, int(self.curve_every)
        used = int((~torch.isnan(c[:, 0])).sum())
        if (step - 1) % every != 0:  # steps 1, 1 + every, 1 + 2 every, ...
            return
        if used == len(c):
            keep = c[0::2].clone()
            c.fill_(float("nan"))
            c[:len(keep)] = keep
            self.curve_every.mul_(2)
            used = len(keep)
            if (step - 1) % int(self.curve_every) != 0:
                return
        c[used] = torch.tensor(row, dtype=torch.float64)

    def curve(self) -> dict[str, list[float]]:
        """The recorded curve: one list per :data:`CURVE_KEYS` column."""
        c = self.curve_[~torch.isnan(self.curve_[:, 0])]
        return {k: [round(float(v), 4) for v in c[:, i]] for i, k in enumerate(CURVE_KEYS)}

    def policy_params(self) -> np.ndarray:
        """The learner's current best policy, flat (P,)."""
        raise NotImplementedError

    def _nothing(self) -> dict[str, torch.optim.Optimizer]:
        # no gradient optimizer: a frozen dummy keeps the checkpoint format of every learner
        if getattr(self, "_opts", None) is None:
            self._opts = {"none": torch.optim.SGD([self._dummy], lr=0.0)}
        return self._opts


def greedy_on(theta: np.ndarray, n_hidden: int, index: np.ndarray):
    """The greedy policy where bird ``i`` flies parameters ``theta[index[i]]``."""
    return E.greedy(theta, n_hidden, index)


# -- the genetic algorithm ---------------------------------------------------------------------
@dataclass
class GAConfig(GameConfig):
    """Such et al. 2017, "Deep Neuroevolution": truncation selection, Gaussian mutation, an
    elite chosen by re-evaluation and kept unchanged."""

    population: int = 128  # birds per generation
    parents: int = 16  # truncation: the best this many have all the children
    sigma: float = 0.1  # std of the Gaussian mutation of every weight
    episodes: int = 1  # pipe seeds each bird flies per generation (fitness: their mean)
    elite_candidates: int = 5  # the best this many are re-evaluated to choose the elite
    elite_episodes: int = 5  # fresh pipe seeds of that re-evaluation

    @classmethod
    def tiny(cls) -> "GAConfig":
        return cls(population=16, parents=4, elite_candidates=2, elite_episodes=2,
                   max_frames=300)


@register("flappy_ga")
class GeneticAlgorithm(GameLearner):
    """One generation per step. Generation 0: ``population`` random policies. Then: the best
    ``parents`` of the last generation (the elite among them) each have children, every child a
    uniformly chosen parent plus N(0, sigma^2) on every weight; the elite passes unchanged.
    All birds fly the same fresh pipe seeds; fitness = mean pipes (+ a fraction of the frame cap
    lived, for ties). The top ``elite_candidates`` then fly ``elite_episodes`` more fresh seeds
    and the best mean becomes the elite (kept in row 0); ``score`` is that mean.

    Buffers: ``population`` (N, P) sorted best first (elite in row 0), ``fitness`` (N,),
    ``started`` (0 before generation 0)."""

    config_class = GAConfig

    def __init__(self, config: GAConfig):
        super().__init__(config)
        c = config
        if not 1 <= c.parents <= c.population or c.population < 2:
            raise ValueError("need 2 or more birds and 1 to population parents")
        if not 1 <= c.elite_candidates <= c.population:
            raise ValueError("elite_candidates must be in [1, population]")
        if min(c.episodes, c.elite_episodes) < 1 or c.sigma <= 0:
            raise ValueError("episodes must be positive and sigma above 0")
        self.register_buffer("population", torch.zeros(c.population, self.n_params))
        self.register_buffer("fitness", torch.zeros(c.population, dtype=torch.float64))
        self.register_buffer("started", torch.zeros((), dtype=torch.int64))
        self._dummy = nn.Parameter(torch.zeros(1), requires_grad=False)
        self._opts = None

    def optimizers(self):
        return self._nothing()

    def policy_params(self) -> np.ndarray:
        return self.population[0].double().numpy().copy()

    def evaluate_all(self, pop: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(fitness, pipes), each (n,): every policy of ``pop`` (n, P) flies every seed; means."""
        n, k = len(pop), len(seeds)
        index = np.repeat(np.arange(n), k)
        ep = self.play(np.tile(seeds, n), greedy_on(pop, int(self.config.n_hidden), index))
        fit = ep.fitness(int(self.config.max_frames)).reshape(n, k).mean(1)
        return fit, ep.pipes.reshape(n, k).mean(1)

    @torch.no_grad()
    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        if self.spent():
            return self._logged()
        c, g = self.config, self.np_rng()
        N, H = int(c.population), int(c.n_hidden)
        if int(self.started) == 0:
            pop = E.init_params(g, N, H)
        else:
            old = self.population.double().numpy()
            pick = g.integers(0, int(c.parents), N - 1)
            children = old[pick] + float(c.sigma) * g.standard_normal((N - 1, self.n_params))
            pop = np.concatenate([old[:1], children])  # the elite passes unchanged
        pop = pop.astype(np.float32).astype(np.float64)  # what the buffer keeps
        fit, pipes = self.evaluate_all(pop, self.train_seeds(g, c.episodes))
        order = np.argsort(-fit, kind="stable")
        cand = order[:int(c.elite_candidates)]
        _, again = self.evaluate_all(pop[cand], self.train_seeds(g, c.elite_episodes))
        elite = int(cand[int(np.argmax(again))])
        rest = [i for i in order if i != elite]
        order = np.array([elite] + rest)
        self.population.copy_(torch.from_numpy(pop[order]).float())
        self.fitness.copy_(torch.from_numpy(fit[order]))
        self.started.fill_(1)
        return self._log(pipes, float(np.max(again)))


# -- the evolution strategy ----------------------------------------------------------------------
@dataclass
class ESConfig(GameConfig):
    """Salimans et al. 2017, "Evolution Strategies as a Scalable Alternative to Reinforcement
    Learning": antithetic Gaussian perturbations of one parameter vector, centred-rank fitness
    shaping, Adam on the estimated gradient, weight decay. Fitness as the GA's, graded by how
    close to the gap a crashed bird came: a random start often has every bird crash into the
    first pipe in the same frame, where equal ranks carry no direction."""

    population: int = 128  # perturbed birds per step (population / 2 antithetic pairs)
    sigma: float = 0.1  # std of the perturbations
    lr: float = 0.05  # Adam's step size on the mean
    weight_decay: float = 0.005  # L2 pull of the mean towards 0 (the paper's weight decay)
    score_episodes: int = 4  # fresh seeds the mean policy flies each step (its score)

    @classmethod
    def tiny(cls) -> "ESConfig":
        return cls(population=16, score_episodes=2, max_frames=300)


def centered_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks of ``x`` scaled to [-0.5, 0.5], the paper's fitness shaping; tied values share
    their mean rank (so a step whose birds all score the same moves nothing)."""
    values, inverse = np.unique(x, return_inverse=True)
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    mean = np.bincount(inverse, weights=r) / np.bincount(inverse)
    return mean[inverse] / max(1, len(x) - 1) - 0.5


def es_gradient(fitness: np.ndarray, eps: np.ndarray, sigma: float) -> np.ndarray:
    """The ES estimate of the gradient of the expected fitness at the mean: ``fitness`` (2k,)
    of the birds mean + sigma eps_i (first k) and mean - sigma eps_i (last k), ``eps`` (k, P);
    sum_i (u_i+ - u_i-) eps_i / (2k sigma), u the centred ranks."""
    k = len(eps)
    u = centered_ranks(fitness)
    return ((u[:k] - u[k:])[:, None] * eps).sum(0) / (2 * k * sigma)


@register("flappy_es")
class EvolutionStrategy(GameLearner):
    """One step: ``population / 2`` directions eps ~ N(0, I), birds theta +/- sigma eps on the same
    fresh pipe seed; gradient estimate g = sum_i u_i eps_i / (n sigma) with u the centred ranks
    (of the + bird minus of the - bird) and n the population; Adam ascends g - weight_decay theta.
    ``score``: mean pipes of the mean policy theta on ``score_episodes`` fresh seeds."""

    config_class = ESConfig

    def __init__(self, config: ESConfig):
        super().__init__(config)
        c = config
        if c.population < 2 or c.population % 2 or c.sigma <= 0:
            raise ValueError("the population must be even (antithetic pairs) and sigma above 0")
        self.theta = nn.Parameter(torch.zeros(self.n_params, dtype=torch.float64))
        self.register_buffer("started", torch.zeros((), dtype=torch.int64))
        self._opts = None

    def optimizers(self):
        if self._opts is None:
            self._opts = {"adam": torch.optim.Adam([self.theta], lr=float(self.config.lr))}
        return self._opts

    def policy_params(self) -> np.ndarray:
        return self.theta.detach().double().numpy().copy()

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        if self.spent():
            return self._logged()
        c, g = self.config, self.np_rng()
        H, half = int(c.n_hidden), int(c.population) // 2
        if int(self.started) == 0:
            with torch.no_grad():
                self.theta.copy_(torch.from_numpy(E.init_params(g, 1, H)[0]))
            self.started.fill_(1)
        theta = self.policy_params()
        eps = g.standard_normal((half, self.n_params))
        pop = np.concatenate([theta + c.sigma * eps, theta - c.sigma * eps])  # (n, P)
        seed = self.train_seeds(g, 1)
        n = len(pop)
        ep = self.play(np.repeat(seed, n), greedy_on(pop, H, np.arange(n)))
        fit = ep.fitness(int(c.max_frames), graded=True)
        grad = es_gradient(fit, eps, float(c.sigma))
        opt = self.optimizers()["adam"]
        opt.zero_grad(set_to_none=False)
        self.theta.grad = torch.from_numpy(-(grad - c.weight_decay * theta))
        opt.step()
        score = self.play(self.train_seeds(g, c.score_episodes),
                          E.greedy(self.policy_params(), H)).pipes.mean()
        return self._log(ep.pipes, float(score))


# -- the policy gradient -----------------------------------------------------------------------
@dataclass
class PGConfig(GameConfig):
    """REINFORCE (Williams 1992) with a baseline: the flap is drawn from the network's
    probability; the return of each frame from the game's rewards (flappy-bird-gymnasium's: +0.1
    a frame alive, +1 a pipe, -1 the crash); the baseline is the batch's mean return at the same
    frame of the episode."""

    episodes: int = 128  # episodes per step (one pipe seed each)
    lr: float = 0.01  # Adam
    gamma: float = 0.99  # discount
    entropy: float = 0.001  # entropy bonus
    score_episodes: int = 4  # fresh seeds the greedy policy flies each step (its score)
    flap_prior: float = 0.1  # the starting network's flap probability (output bias)

    @classmethod
    def tiny(cls) -> "PGConfig":
        return cls(episodes=16, score_episodes=2, max_frames=300)


REWARD_ALIVE, REWARD_PIPE, REWARD_CRASH = 0.1, 1.0, -1.0


@register("flappy_pg")
class PolicyGradient(GameLearner):
    """One step: ``episodes`` games with flaps sampled from sigmoid(logit), then one Adam step
    on -mean(A log pi(a | x)) - entropy * H(pi), with A the discounted return minus the
    baseline, scaled by its standard deviation. ``score``: mean pipes of the greedy policy
    (flap when the probability is above one half, as the GA and ES fly) on fresh seeds."""

    config_class = PGConfig

    def __init__(self, config: PGConfig):
        super().__init__(config)
        H = int(config.n_hidden)
        self.hidden = nn.Linear(E.N_FEATURES, H)
        self.out = nn.Linear(H, 1)
        self.register_buffer("started", torch.zeros((), dtype=torch.int64))
        self._opts = None

    def optimizers(self):
        if self._opts is None:
            self._opts = {"adam": torch.optim.Adam(self.parameters(), lr=float(self.config.lr))}
        return self._opts

    def policy_params(self) -> np.ndarray:
        with torch.no_grad():
            parts = [self.hidden.weight.T.reshape(-1), self.hidden.bias,
                     self.out.weight.reshape(-1), self.out.bias]
            return torch.cat(parts).double().numpy().copy()

    def set_params(self, theta: np.ndarray) -> None:
        F, H = E.N_FEATURES, int(self.config.n_hidden)
        W1, b1, w2, b2 = (torch.as_tensor(a[0], dtype=torch.float32)
                          for a in E.unflatten(np.asarray(theta)[None], H))
        with torch.no_grad():
            self.hidden.weight.copy_(W1.T.reshape(H, F))
            self.hidden.bias.copy_(b1)
            self.out.weight.copy_(w2.reshape(1, H))
            self.out.bias.copy_(b2.reshape(1))

    def returns(self, ep: E.Episodes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows' frame index t (0-based), bird, discounted return), aligned with the trace."""
        d, gamma = self.game, float(self.config.gamma)
        frames = ep.frames
        T = int(frames.max())
        passed = np.array([E.pipes_passed(d, t) for t in range(T + 1)])
        r = np.where(np.diff(passed) > 0, REWARD_PIPE, REWARD_ALIVE)  # (T,): reward of frame t+1
        R = np.zeros((len(frames), T + 1))
        alive = np.arange(T)[None, :] < frames[:, None]  # (n, T)
        rew = np.where(alive, r[None, :], 0.0)
        crash = np.flatnonzero(ep.crashed)
        rew[crash, frames[crash] - 1] = REWARD_CRASH
        for t in range(T - 1, -1, -1):
            R[:, t] = rew[:, t] + gamma * R[:, t + 1]
        tr = ep.trace
        t_idx = np.concatenate([np.full(len(i), t) for t, i in enumerate(tr["ids"])])
        bird = np.concatenate(tr["ids"])
        return t_idx, bird, R[bird, t_idx]

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        if self.spent():
            return self._logged()
        c, g = self.config, self.np_rng()
        H = int(c.n_hidden)
        if int(self.started) == 0:  # the GA's and ES's initial distribution, but for the bias:
            theta0 = E.init_params(g, 1, H)[0]  # flapping at random half the time flies the
            p = float(c.flap_prior)  # bird into the sky, so it starts flapping rarely
            theta0[-1] = math.log(p / (1 - p))
            self.set_params(theta0)
            self.started.fill_(1)
        theta = self.policy_params()

        def sample(x, ids):
            p = 1.0 / (1.0 + np.exp(-E.logits(theta, x, H)))
            return g.random(len(ids)) < p

        ep = self.play(self.train_seeds(g, c.episodes), sample, trace=True)
        t_idx, bird, G = self.returns(ep)
        base = np.bincount(t_idx, weights=G) / np.maximum(np.bincount(t_idx), 1)
        A = G - base[t_idx]
        A = A / (A.std() + 1e-8)
        x = torch.from_numpy(np.concatenate(ep.trace["x"])).float()
        a = torch.from_numpy(np.concatenate(ep.trace["flap"])).float()
        logit = self.out(torch.tanh(self.hidden(x)))[:, 0]
        logp = -nn.functional.binary_cross_entropy_with_logits(logit, a, reduction="none")
        p = torch.sigmoid(logit)
        ent = -(p * torch.log(p + 1e-8) + (1 - p) * torch.log(1 - p + 1e-8))
        loss = -(torch.from_numpy(A).float() * logp).mean() - float(c.entropy) * ent.mean()
        opt = self.optimizers()["adam"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            score = self.play(self.train_seeds(g, c.score_episodes),
                              E.greedy(self.policy_params(), H)).pipes.mean()
        return self._log(ep.pipes, float(score))


LEARNERS = {"flappy_ga": GeneticAlgorithm, "flappy_es": EvolutionStrategy,
            "flappy_pg": PolicyGradient}


def config_dict(config) -> dict:
    return asdict(config)
