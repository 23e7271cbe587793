"""Flappy Bird for many birds at once, in NumPy.

The rules are those of ``flappy-bird-gymnasium`` 0.4.0 (``FlappyBirdEnv``, itself adapted from
FlapPyBird), whose constants are cited below; the code is ours. That environment runs headless
here, but it steps one bird per Python call (measured by ``bench/bench_evolution.py`` on one
thread: ~97,000 frames a second with a small network choosing the flaps); a genetic algorithm
needs 128 birds times thousands of frames per generation, so this module steps a whole population
with one array operation per rule (0.8-1.9 million frames a second for 128 birds, each with its
own network).

One frame, in the game's order:

1. a flap (only while the bird is lower than ``FLAP_CEILING``) sets the vertical velocity to
   ``FLAP_VELOCITY``;
2. otherwise gravity adds ``GRAVITY`` to the velocity, up to ``MAX_FALL`` (a flap frame gets no
   gravity);
3. the bird moves by its velocity (never below the ground);
4. the pipes move ``speed`` pixels to the left;
5. the bird crashes when its box touches the ground or a pipe (boxes overlap strictly, as
   pygame's ``Rect.colliderect``); the top of the screen is open, as in the game, but the
   upper pipe reaches far above it.

A pipe counts as passed once, at the frame whose start has the pipe's middle at or left of the
bird's middle (the game counts it in a window of 4 pixels, its pipe speed; a count of the pipes
left behind is the same rule for any speed).

Where this differs from the game, and why: pipes come at a fixed ``spacing`` (the game's three
recycled pipes alternate 144 and 165.6 px apart) so that every bird of a generation sees the
pipes at the same horizontal places and only their heights depend on its seed; the gap height is
drawn per pipe from the bird's own seed; and the difficulty settings (gap, speed, height range,
moving gaps) are ours, the game's own values being ``DIFFICULTIES["classic"]``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

# -- the game's constants (flappy-bird-gymnasium 0.4.0, envs/constants.py and flappy_bird_env.py)
SCREEN_W, SCREEN_H = 288, 512  # screen size, px
GROUND_Y = SCREEN_H * 0.79  # top of the ground: 404.48 px from the top
BIRD_X = int(SCREEN_W * 0.2)  # the bird's left edge: 57 px (it never moves sideways)
BIRD_W, BIRD_H = 34, 24  # the bird's box
START_Y = int((SCREEN_H - BIRD_H) / 2)  # 244: the bird's top at the start
START_VELOCITY = -9.0  # the game starts with a flap's velocity
GRAVITY = 1.0  # px / frame^2, downwards
MAX_FALL = 10.0  # terminal velocity, px / frame
FLAP_VELOCITY = -9.0  # a flap sets the velocity to this (upwards)
FLAP_CEILING = -2 * BIRD_H  # a flap works only while the bird's top is below y = -48
PIPE_W = 52  # pipe width
FIRST_PIPE_X = SCREEN_W  # the first pipe starts at the right edge of the screen
FPS = 30  # the game's frames per second (for the replay)

N_FEATURES = 7
FEATURES = ("height", "velocity", "distance to the next pipe", "room above (next gap)",
            "room below (next gap)", "next gap's vertical speed", "the gap after, relative")
"""What a policy sees each frame (all scaled to about [-1, 1]): the bird's height above the
ground, its velocity, the horizontal distance from the bird to the end of the next pipe, the room
between the bird's top and the next gap's top and between its bottom and the gap's bottom, how
fast that gap moves vertically, and where the gap after it is relative to the bird."""


@dataclass(frozen=True)
class Difficulty:
    """The game's settings. ``gap``: the opening between upper and lower pipe (px); ``speed``:
    px the pipes move per frame; ``spacing``: px from one pipe to the next; the gap's top is
    drawn in [``top_min``, ``top_max``] (in steps of ``top_step`` px, 0: continuous); a moving
    gap swings ``move_amp`` px up and down around its place, once every ``move_period`` frames.
    """

    gap: float = 100.0
    speed: float = 4.0
    spacing: float = 150.0
    top_min: float = 100.0
    top_max: float = 170.0
    top_step: float = 10.0
    move_amp: float = 0.0
    move_period: float = 100.0

    def __post_init__(self) -> None:
        if self.spacing < PIPE_W + BIRD_W + 1:
            raise ValueError("pipes must be further apart than a pipe and a bird are wide")
        if not 0 < self.speed <= 20 or not 30 <= self.gap <= 300:
            raise ValueError("speed must be in (0, 20] px a frame and the gap in [30, 300] px")
        if self.top_max + self.gap > GROUND_Y or self.top_min > self.top_max - 2 * self.move_amp:
            raise ValueError("the gaps (with their swing) must fit above the ground")

    @property
    def frames_per_pipe(self) -> float:
        return self.spacing / self.speed

    def to_dict(self) -> dict:
        return asdict(self)


DIFFICULTIES: dict[str, Difficulty] = {
    # the game itself: gap 100 px, pipes at 4 px a frame, gap tops 100..170 in steps of 10
    "classic": Difficulty(),
    "hard": Difficulty(gap=90.0, speed=4.0, spacing=150.0, top_min=80.0, top_max=230.0,
                       top_step=0.0, move_amp=15.0, move_period=90.0),
    "very hard": Difficulty(gap=85.0, speed=4.0, spacing=150.0, top_min=80.0, top_max=230.0,
                            top_step=0.0, move_amp=20.0, move_period=90.0),
}
DIFFICULTY_NOTES = {
    "classic": "the game's own rules: 100 px gaps at 4 px a frame, gap heights within 70 px",
    "hard": "90 px gaps anywhere within 150 px, each swinging 15 px up and down",
    "very hard": "85 px gaps within 150 px, each swinging 20 px up and down",
}
DEFAULT_DIFFICULTY = "hard"


def difficulty(x: str | dict | Difficulty) -> Difficulty:
    """A :class:`Difficulty` from its name, its fields, or itself."""
    if isinstance(x, Difficulty):
        return x
    if isinstance(x, str):
        if x not in DIFFICULTIES:
            raise ValueError(f"unknown difficulty {x!r}; known: {sorted(DIFFICULTIES)}")
        return DIFFICULTIES[x]
    return Difficulty(**{k: float(v) for k, v in dict(x).items()})


# -- pipes ---------------------------------------------------------------------------------------
def n_pipes_for(d: Difficulty, max_frames: int) -> int:
    """Pipes a bird can meet in ``max_frames`` frames (and two to look ahead)."""
    return int((d.speed * max_frames + SCREEN_W) / d.spacing) + 3


def pipe_tables(d: Difficulty, seeds, n_pipes: int) -> tuple[np.ndarray, np.ndarray]:
    """(base, phase), each (n_birds, n_pipes): the height of every pipe's gap top and its swing's
    phase, drawn from each bird's seed alone (the same seed always gives the same pipes)."""
    seeds = np.atleast_1d(np.asarray(seeds, dtype=np.int64))
    base = np.empty((len(seeds), n_pipes))
    phase = np.empty((len(seeds), n_pipes))
    lo, hi = d.top_min + d.move_amp, d.top_max - d.move_amp
    for i, s in enumerate(seeds):
        g = np.random.default_rng([int(s), 20_170_301])
        if d.top_step > 0:
            k = int(round((hi - lo) / d.top_step)) + 1
            base[i] = lo + d.top_step * g.integers(0, k, n_pipes)
        else:
            base[i] = g.uniform(lo, hi, n_pipes)
        phase[i] = g.uniform(0.0, 2 * math.pi, n_pipes)
    return base, phase


def pipe_x(d: Difficulty, j, t):
    """Left edge of pipe ``j`` after ``t`` frames (numbers or arrays)."""
    if isinstance(j, (int, np.integer)) and isinstance(t, (int, np.integer)):
        return FIRST_PIPE_X + int(j) * d.spacing - d.speed * int(t)
    return FIRST_PIPE_X + np.asarray(j) * d.spacing - d.speed * np.asarray(t)


def gap_top(d: Difficulty, base, phase, t):
    """The gap's top of pipes (``base``, ``phase``) at frame ``t``."""
    if d.move_amp == 0:
        return base
    return base + d.move_amp * np.sin(2 * math.pi * t / d.move_period + phase)


def next_pipe(d: Difficulty, t: int) -> int:
    """Index of the first pipe whose right edge is still right of the bird's left edge after
    ``t`` frames (the only pipe the bird can touch: pipes are further apart than both widths)."""
    # x_j + PIPE_W > BIRD_X  <=>  j > (speed t + BIRD_X - PIPE_W - FIRST_PIPE_X) / spacing
    return max(0, math.floor((d.speed * t + BIRD_X - PIPE_W - FIRST_PIPE_X) / d.spacing) + 1)


def pipes_passed(d: Difficulty, t: int) -> int:
    """Pipes passed by a bird alive after ``t`` frames: those whose middle was at or left of
    the bird's middle at the start of frame ``t`` (after ``t - 1`` moves)."""
    if t < 1:
        return 0
    lead = BIRD_X + BIRD_W / 2 - PIPE_W / 2 - FIRST_PIPE_X + d.speed * (t - 1)
    return max(0, math.floor(lead / d.spacing + 1e-9) + 1)


# -- policies: a small network per bird --------------------------------------------------------
def n_params(n_hidden: int) -> int:
    """Weights of the policy F -> H (tanh) -> 1: W1 (F, H), b1 (H,), w2 (H,), b2 (1,)."""
    return N_FEATURES * n_hidden + 2 * n_hidden + 1


def unflatten(theta: np.ndarray, n_hidden: int):
    """(W1 (n, F, H), b1 (n, H), w2 (n, H), b2 (n,)) from flat parameters (n, P)."""
    theta = np.atleast_2d(theta)
    F, H = N_FEATURES, n_hidden
    i = F * H
    return (theta[:, :i].reshape(-1, F, H), theta[:, i:i + H], theta[:, i + H:i + 2 * H],
            theta[:, i + 2 * H])


def logits(theta: np.ndarray, x: np.ndarray, n_hidden: int) -> np.ndarray:
    """The flap logit of each bird (n,) for its features ``x`` (n, F) under its own parameters
    ``theta`` (n, P), or one set of parameters (P,) shared by all."""
    if theta.ndim == 1:
        W1, b1, w2, b2 = (a[0] for a in unflatten(theta[None], n_hidden))
        return np.tanh(x @ W1 + b1) @ w2 + b2
    W1, b1, w2, b2 = unflatten(theta, n_hidden)
    h = np.tanh(np.matmul(x[:, None, :], W1)[:, 0, :] + b1)  # (n, H)
    return (h * w2).sum(1) + b2


def init_params(rng: np.random.Generator, n: int, n_hidden: int) -> np.ndarray:
    """``n`` random policies (n, P): each layer's weights N(0, 1 / fan-in), biases 0."""
    F, H = N_FEATURES, n_hidden
    out = np.zeros((n, n_params(H)))
    out[:, :F * H] = rng.standard_normal((n, F * H)) / math.sqrt(F)
    out[:, F * H + H:F * H + 2 * H] = rng.standard_normal((n, H)) / math.sqrt(H)
    return out


# -- the batch of games ----------------------------------------------------------------------------
@dataclass
class Episodes:
    """What :func:`play` returns for each bird (arrays of shape (n,)): ``pipes`` passed,
    ``frames`` alive (the frame it crashed in included; ``max_frames`` if it never crashed),
    ``crashed`` (False: it reached the frame cap). ``trace`` (when asked): per frame, the
    features (m, F), flaps (m,), bird index (m,) of every bird alive at its start, in order."""

    pipes: np.ndarray
    frames: np.ndarray
    crashed: np.ndarray
    trace: dict | None = None
    miss: np.ndarray | None = None

    @property
    def total_frames(self) -> int:
        """Game frames consumed (every bird's frames added up)."""
        return int(self.frames.sum())

    def fitness(self, max_frames: int, graded: bool = False) -> np.ndarray:
        """Pipes passed, plus the share of the frame cap lived (< 1: only breaks ties).
        ``graded``: minus, within one frame's worth, how far from the gap's middle the bird
        crashed (birds that crash in the same frame are then ranked by how close they came)."""
        f = self.pipes + self.frames / (max_frames + 1.0)
        if graded and self.miss is not None:
            f = f - np.minimum(self.miss / GROUND_Y, 0.999) / (max_frames + 1.0)
        return f


def features(d: Difficulty, t: int, y, vel, base, phase) -> np.ndarray:
    """The policy's inputs (m, F) at the start of frame ``t + 1`` (after ``t`` frames) for birds
    at height ``y`` with velocity ``vel`` on pipes (``base``, ``phase``), each (m, n_pipes)."""
    j = next_pipe(d, t)
    top = gap_top(d, base[:, j], phase[:, j], t)
    after = gap_top(d, base[:, j + 1], phase[:, j + 1], t)
    x = np.empty((len(y), N_FEATURES))
    if d.move_amp:
        w = 2 * math.pi / d.move_period
        x[:, 5] = d.move_amp * w / 4.0 * np.cos(w * t + phase[:, j])
    else:
        x[:, 5] = 0.0
    x[:, 0] = (GROUND_Y - BIRD_H - y) / 200.0 - 1.0
    x[:, 1] = vel / MAX_FALL
    x[:, 2] = (pipe_x(d, j, t) + PIPE_W - BIRD_X) / 150.0 - 1.0
    x[:, 3] = (y - top) / 100.0
    x[:, 4] = (top + d.gap - y - BIRD_H) / 100.0
    x[:, 6] = (after - y) / 200.0
    return x


def play(d: Difficulty, seeds, policy, *, max_frames: int, trace: bool = False,
         record: int = 0) -> Episodes:
    """Play one game per seed at once until every bird has crashed or ``max_frames`` frames.

    ``policy(x, ids) -> flap`` gets the features (m, F) of the birds still alive and their
    indices (m,) into ``seeds``, and returns booleans (m,). ``trace``: keep every frame's
    features and flaps (what a policy gradient learns from). ``record``: keep the first
    ``record`` frames of bird 0 (heights and flaps) and its pipes, for a replay (``trace``
    then holds ``"replay"``). ``Episodes.miss`` is how far (px) each crashed bird's middle was
    from the middle of the gap it crashed at (0 for a bird that reached the cap).
    """
    seeds = np.atleast_1d(np.asarray(seeds, dtype=np.int64))
    n = len(seeds)
    P = n_pipes_for(d, max_frames)
    base, phase = pipe_tables(d, seeds, P)
    ids = np.arange(n)
    y = np.full(n, float(START_Y))
    vel = np.full(n, START_VELOCITY)
    frames = np.full(n, int(max_frames))
    crashed = np.zeros(n, dtype=bool)
    miss = np.zeros(n)
    out_trace: dict | None = {"x": [], "flap": [], "ids": []} if trace else None
    rec_y, rec_flap = [], []
    ground = GROUND_Y - BIRD_H
    for t in range(max_frames):  # t frames done; this loop runs frame t + 1
        if len(ids) == 0:
            break
        x = features(d, t, y, vel, base, phase)
        flap = np.asarray(policy(x, ids), dtype=bool) & (y > FLAP_CEILING)
        if trace:
            out_trace["x"].append(x)
            out_trace["flap"].append(flap)
            out_trace["ids"].append(ids)
        # gravity unless it flapped (the game skips gravity in a flap's frame)
        vel = np.where(flap, FLAP_VELOCITY, np.where(vel < MAX_FALL, vel + GRAVITY, vel))
        y = y + np.minimum(vel, ground - y)
        t1 = t + 1
        j = next_pipe(d, t1)
        px = pipe_x(d, j, t1)
        top = gap_top(d, base[:, j], phase[:, j], t1)
        in_pipe = BIRD_X + BIRD_W > px  # (BIRD_X < px + PIPE_W holds for the next pipe)
        hit = (y + BIRD_H >= GROUND_Y - 1) | (in_pipe & ((y < top) | (y + BIRD_H > top + d.gap)))
        if record and ids[0] == 0 and t < record:
            rec_y.append(float(y[0]))
            rec_flap.append(bool(flap[0]))
        if hit.any():
            dead = ids[hit]
            frames[dead] = t1
            crashed[dead] = True
            miss[dead] = np.abs(y[hit] + BIRD_H / 2 - (top[hit] + d.gap / 2))
            keep = ~hit
            ids, y, vel = ids[keep], y[keep], vel[keep]
            base, phase = base[keep], phase[keep]
    pipes = np.array([pipes_passed(d, int(f)) for f in frames])
    out = Episodes(pipes, frames, crashed, out_trace, miss)
    if record:
        b0, p0 = pipe_tables(d, seeds[:1], P)
        last = next_pipe(d, len(rec_y)) + 3
        out.trace = dict(out.trace or {})
        out.trace["replay"] = {"y": [round(v, 2) for v in rec_y],
                               "flap": [i for i, f in enumerate(rec_flap) if f],
                               "base": [round(float(v), 2) for v in b0[0, :last]],
                               "phase": [round(float(v), 4) for v in p0[0, :last]],
                               "pipes": int(pipes[0]), "frames": int(frames[0]),
                               "crashed": bool(crashed[0])}
    return out


def greedy(theta: np.ndarray, n_hidden: int, index: np.ndarray | None = None):
    """The deterministic policy of parameters ``theta`` ((n, P): one per bird, or (P,) for all):
    flap when the logit is positive. ``index``: bird i flies ``theta[index[i]]``."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim == 1:
        return lambda x, ids: logits(theta, x, n_hidden) > 0
    W1, b1, w2, b2 = unflatten(theta if index is None else theta[index], n_hidden)
    cache: dict = {}

    def policy(x, ids):
        if cache.get("n") != len(ids):  # the birds alive change only when one crashes
            cache.update(n=len(ids), w=(W1[ids], b1[ids], w2[ids], b2[ids]))
        a, b, c, e = cache["w"]
        h = np.tanh(np.matmul(x[:, None, :], a)[:, 0, :] + b)
        return (h * c).sum(1) + e > 0

    return policy


def physics_constants() -> dict:
    """The numbers the browser game and replay use (the same rules in JavaScript)."""
    return {"W": SCREEN_W, "H": SCREEN_H, "ground": GROUND_Y, "birdX": BIRD_X, "birdW": BIRD_W,
            "birdH": BIRD_H, "startY": START_Y, "startVel": START_VELOCITY, "gravity": GRAVITY,
            "maxFall": MAX_FALL, "flapVel": FLAP_VELOCITY, "flapCeiling": FLAP_CEILING,
            "pipeW": PIPE_W, "firstPipeX": FIRST_PIPE_X, "fps": FPS}
