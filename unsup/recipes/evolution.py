"""Flappy Bird by evolution (the first half of the "Evolution & AutoML" page): a genetic
algorithm, an evolution strategy and a policy gradient train the same small policy network on
the game of :mod:`unsup.envs.flappy`, each preset spending the same number of game frames.

Scored the same way for all three (:func:`evaluate`): the learner's current policy (the GA's
elite, the ES's mean, the policy gradient's network flown greedily) flies 20 pipe sequences whose
seeds training never drew (:data:`EVAL_SEEDS`), each until it crashes or :data:`EVAL_FRAMES`
frames; the headline is the median of its pipes. The card keeps the per-step curves (best /
median / worst pipes of the step's birds), the held-out median at a few milestones, the policy's
weights (for the page's decision surface) and a replay of its flight on the first held-out seed.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from unsup.envs import flappy as E
from unsup.families import Family, PageInfo, Preset
from unsup.models import evolution as V

KIND_GA, KIND_ES, KIND_PG = "flappy_ga", "flappy_es", "flappy_pg"
KINDS = (KIND_GA, KIND_ES, KIND_PG)
KIND_LABELS = {KIND_GA: "Genetic algorithm (Such et al. 2017)",
               KIND_ES: "Evolution strategy (Salimans et al. 2017)",
               KIND_PG: "Policy gradient (REINFORCE with a baseline)"}
SHORT = {KIND_GA: "Genetic algorithm", KIND_ES: "Evolution strategy",
         KIND_PG: "Policy gradient"}
DATA = {"flappy": "Flappy Bird pipe sequences drawn from seeds (no data set: the game)"}

EVAL_SEEDS = tuple(V.EVAL_SEED_BASE + k for k in range(20))
"""The 20 held-out pipe sequences (training draws its seeds below ``EVAL_SEED_BASE``)."""
EVAL_FRAMES = 10_000
"""Frame cap of a held-out game (about 265 pipes at 4 px a frame and 150 px apart)."""
REPLAY_FRAMES = 2_400
"""Frames of the replay kept in the card (80 s at the game's 30 frames a second)."""
TARGET_PIPES = 50
"""The GA's target: a median of at least this many pipes over the 20 held-out seeds."""

LEVEL = E.DEFAULT_DIFFICULTY
GA_MAX_FRAMES = V.GameConfig.max_frames
"""Frame cap of a training episode (every learner's)."""
FRAME_BUDGET = 250_000_000
"""Game frames every shipped learner spends (the same for all three; a step that finds the
budget spent changes nothing). Each preset's step count is about the number of steps its
learner takes to spend the budget (measured on a longer run; a run may end a fraction of a
percent short of it, and the card's ``mframes`` says how many it spent), so a card's step is a
real one."""
BUDGET_TEXT = f"{FRAME_BUDGET / 1e6:.0f} million game frames"
GA = dict(population=128, parents=16, sigma=0.05, episodes=4, elite_candidates=5,
          elite_episodes=10)
ES = dict(population=256, sigma=0.1, lr=0.02, weight_decay=0.005, score_episodes=4)
PG = dict(episodes=128, lr=0.01, gamma=0.99, entropy=0.001, score_episodes=4)
CONFIGS = {KIND_GA: GA, KIND_ES: ES, KIND_PG: PG}
MILESTONES = (10, 20, 30, 40, 50, 75, 100, 125, 150, 200, 250, 300, 400, 500, 600, 800, 1_000,
              1_250, 1_500, 2_000, 2_500, 3_000, 4_000, 5_000, 6_000, 8_000, 10_000, 12_500,
              15_000, 20_000, 30_000, 40_000, 60_000)
"""Steps at which each shipped run is scored on the held-out seeds (a curve of the real score)."""


def _preset(name: str, kind: str, title: str, description: str, steps: int) -> Preset:
    cfg = {**CONFIGS[kind], **V.level_fields(LEVEL), "frame_budget": FRAME_BUDGET, "seed": 0}
    return Preset(name, title, description, kind, steps, cfg, "flappy", checkpoint_every=50,
                  options={"milestones": tuple(m for m in MILESTONES if m < steps)})


PRESETS = (
    _preset("flappy-ga", KIND_GA, "Flappy Bird: genetic algorithm",
            "128 birds a generation, each a 7-8-1 tanh network flying 4 pipe sequences; the "
            "best 16 have the children (Gaussian mutation, sigma 0.05), the elite (the best of "
            "the top 5 on 10 fresh pipe sequences) passes unchanged (Such et al. 2017). '"
            + LEVEL + "' pipes, " + BUDGET_TEXT + ".", 497),
    _preset("flappy-es", KIND_ES, "Flappy Bird: evolution strategy",
            "One network's weights, 128 antithetic pairs of Gaussian perturbations (sigma 0.1) "
            "a step, centred-rank fitness shaping, Adam on the mean (Salimans et al. 2017). "
            "The same network, game and frame budget (" + BUDGET_TEXT + ") as the genetic "
            "algorithm.", 1_762),
    _preset("flappy-reinforce", KIND_PG, "Flappy Bird: policy gradient",
            "REINFORCE with a per-frame baseline: 128 games a step with flaps drawn from the "
            "network's probability, the game's rewards (+0.1 a frame, +1 a pipe, -1 the "
            "crash), Adam. The same network, game and frame budget (" + BUDGET_TEXT + ").",
            1_982),
)


def new_learner(kind: str, **config):
    cls = V.LEARNERS[kind]
    return cls(cls.config_class(**config))


def data_card(model) -> dict[str, Any]:
    c = model.config
    return {"name": "flappy", "level": c.level, "difficulty": model.game.to_dict(),
            "train_seeds": f"drawn in [0, {V.EVAL_SEED_BASE:,})",
            "eval_seeds": f"{EVAL_SEEDS[0]:,} to {EVAL_SEEDS[-1]:,}",
            "max_frames": int(c.max_frames), "eval_frames": EVAL_FRAMES}


def build(preset: Preset):
    model = new_learner(preset.kind, **preset.config)
    return model, torch.zeros(1_024, 1), data_card(model)


def held_out(model, record: int = 0) -> E.Episodes:
    """The model's policy flown greedily on the 20 held-out seeds (bird 0 recorded)."""
    theta = model.policy_params()
    return E.play(model.game, np.array(EVAL_SEEDS), E.greedy(theta, int(model.config.n_hidden)),
                  max_frames=EVAL_FRAMES, record=record)


def milestone(model) -> dict[str, Any]:
    """The held-out score part-way: median and mean pipes, the frames spent so far, and the
    training seconds so far (wall clock, measured: those of the run before a resume, from its
    card, plus this process's since its first step; the held-out games are not counted)."""
    ep = held_out(model)
    seconds = float((model.card_ or {}).get("seconds") or 0.0) + model.seconds_here()
    return {"median": float(np.median(ep.pipes)), "mean": round(float(ep.pipes.mean()), 2),
            "mframes": round(int(model.frames_) / 1e6, 3), "step": int(model.step_),
            "seconds": round(seconds, 1)}


def steps_used(model) -> int:
    """Steps that trained (the rest found the frame budget spent): the step of the last logged
    row (the curve itself keeps every k-th row only, so its last row may be earlier)."""
    step = float(model.last_[0])
    return 0 if step != step else int(step)


def evaluate(model) -> dict[str, Any]:
    ep = held_out(model, record=REPLAY_FRAMES)
    replay = ep.trace["replay"]
    pipes = [int(p) for p in ep.pipes]
    return {"pipes_median": float(np.median(pipes)), "pipes_mean": round(float(np.mean(pipes)), 2),
            "pipes_min": int(min(pipes)), "pipes_max": int(max(pipes)),
            "at_cap": int((~ep.crashed).sum()), "mframes": round(int(model.frames_) / 1e6, 3),
            "steps_used": steps_used(model),
            "extra_metrics": {"pipes": pipes, "seeds": list(EVAL_SEEDS), "curve": model.curve(),
                              "policy": [round(float(v), 6) for v in model.policy_params()],
                              "n_hidden": int(model.config.n_hidden),
                              "difficulty": model.game.to_dict(), "level": model.config.level,
                              "replay": replay, "eval_frames": EVAL_FRAMES}}


FAMILY = Family(
    name="evolution",
    label="Flappy Bird by evolution",
    models=(V.GeneticAlgorithm, V.EvolutionStrategy, V.PolicyGradient),
    kind_labels=KIND_LABELS,
    presets=PRESETS,
    build=build,
    evaluate=evaluate,
    data=DATA,
    page=PageInfo("evolution", "Evolution & AutoML", ":material/genetics:",
                  "app_pages/evolution.py",
                  "A population of small networks learns Flappy Bird by selection and mutation, "
                  "beside an evolution strategy and a policy gradient; then a machine searches "
                  "a VAE's settings.", "unsup.recipes.evolution:thumbnail", order=90),
    warm=("unsup.recipes.evolution",),
    headline=("pipes_median", "pipes_mean", "mframes", "steps_used"),
    milestone=milestone,
    bench=("bench_evolution.py",),
)

__all__ = ["FAMILY", "PRESETS", "evaluate"]


# -- shipped results, for the page ----------------------------------------------------------------
PRESET_OF = {p.kind: p.name for p in PRESETS}


def shipped_cards() -> dict[str, dict]:
    """The shipped cards by kind (only those present): read from their JSON files."""
    from unsup import checkpoints, paths

    out = {}
    for kind, name in PRESET_OF.items():
        path = checkpoints.weights_path(paths.SHIPPED_DIR / name)
        if path.exists():
            try:
                out[kind] = checkpoints.read_card(path)
            except checkpoints.CheckpointError:
                continue
    return out


def card_extra(card: dict) -> dict:
    """The detailed numbers of a card: top-level for a shipped one, inside ``metrics`` for a
    run the page trained."""
    for x in (card.get("extra_metrics"), (card.get("metrics") or {}).get("extra_metrics")):
        if isinstance(x, dict):
            return x
    return {}


def decision_surface(theta, n_hidden: int, d: E.Difficulty, *, velocity: float = 0.0,
                     gap_top: float = 150.0, nx: int = 72, ny: int = 90):
    """Flap probability of the policy ``theta`` over the bird's height (rows, the bird's top in
    px from the top of the screen) x the horizontal distance from the bird to the end of the
    next pipe (columns, px), with the next gap's top at ``gap_top``, still, the gap after it at
    the same height, and the bird's vertical ``velocity``. Returns (dist (nx,), tops (ny,),
    p (ny, nx)); the greedy policy flaps where p > 0.5."""
    dist = np.linspace(0.0, d.spacing, nx)
    tops = np.linspace(0.0, E.GROUND_Y - E.BIRD_H, ny)
    D, Y = np.meshgrid(dist, tops)
    y = Y.ravel()
    x = np.empty((len(y), E.N_FEATURES))
    x[:, 0] = (E.GROUND_Y - E.BIRD_H - y) / 200.0 - 1.0
    x[:, 1] = velocity / E.MAX_FALL
    x[:, 2] = D.ravel() / 150.0 - 1.0
    x[:, 3] = (y - gap_top) / 100.0
    x[:, 4] = (gap_top + d.gap - y - E.BIRD_H) / 100.0
    x[:, 5] = 0.0
    x[:, 6] = (gap_top - y) / 200.0
    z = E.logits(np.asarray(theta, dtype=np.float64), x, int(n_hidden))
    return dist, tops, (1.0 / (1.0 + np.exp(-z))).reshape(ny, nx)



# -- the page's training job ----------------------------------------------------------------------
JOB_STEPS = {KIND_GA: 200, KIND_ES: 300, KIND_PG: 600}


def job_config(kind: str, level: str, population: int, seed: int = 0) -> dict:
    """A page job's config: the preset's settings on ``level`` with ``population`` birds a step
    (games a step for the policy gradient), no frame budget."""
    if kind not in KINDS:
        raise ValueError(f"unknown learner {kind!r}")
    pop = int(population)
    if not 16 <= pop <= 512:
        raise ValueError("the population must be between 16 and 512 birds")
    cfg = {**CONFIGS[kind], **V.level_fields(level), "seed": int(seed)}
    if kind == KIND_PG:
        cfg["episodes"] = pop
    else:
        cfg["population"] = pop + (pop % 2 if kind == KIND_ES else 0)
    if kind == KIND_GA:
        cfg["parents"] = max(2, pop // 8)
    return cfg


def job_finish(model, job=None) -> dict[str, Any]:
    if job is not None:
        job.phase("flying the 20 held-out pipe sequences")
    return evaluate(model)


def training_spec(kind: str = KIND_GA, *, level: str = LEVEL, population: int = 128,
                  steps: int | None = None, seed: int = 0, owner: str = "", resume=None):
    """A job that trains ``kind`` on ``level`` with ``population`` birds for ``steps``
    generations (batches for the policy gradient); ``resume``: a user run to continue (its own
    learner, level and population)."""
    from unsup.recipes import runs

    run = runs.plan(resume, data="flappy", images=None, label=None, check=lambda *x: None)
    if run.resume is not None:
        kind = str(run.resume.card.get("kind") or kind)
    if kind not in KINDS:
        raise ValueError(f"unknown learner {kind!r}")
    steps = int(JOB_STEPS[kind] if steps is None else steps)
    cfg = job_config(kind, level, population, seed)
    unit = "batches" if kind == KIND_PG else "generations"

    def model(_):
        return new_learner(kind, **cfg)

    title = f"{SHORT[kind]} on '{level}' pipes, {population} birds, {steps:,} {unit}"
    return run.spec(title=title, model=model, data=None,
                    data_card=lambda _: data_card(new_learner(kind, **cfg)),
                    fed=lambda m, x: torch.zeros(1_024, 1), reading="setting up the game",
                    steps=steps, page="evolution", owner=owner,
                    checkpoint_every=max(10, steps // 10), finish=job_finish, unit=unit,
                    again=lambda path, more: training_spec(kind, steps=int(more), resume=path,
                                                           owner=owner))


def estimate_step_seconds(kind: str, level: str, population: int, n: int = 3) -> float:
    """Seconds per step of a page job, measured now: ``n`` steps of a population that has
    already learnt to fly (the shipped run's policy, mutated; a new one where none is shipped),
    the expensive end of a run, since a step's cost grows with how long its birds live."""
    from unsup.train import time_steps

    cfg = job_config(kind, level, population)
    m = new_learner(kind, **cfg)
    theta = _shipped_policy(kind)
    if theta is not None and len(theta) == m.n_params:
        m.rng.manual_seed(1)
        m.train_step(torch.zeros(1, 1))  # generation 0 sets the start; then start from theta
        with torch.no_grad():
            if kind == KIND_GA:
                m.population.copy_(torch.from_numpy(np.tile(theta, (len(m.population), 1))))
            elif kind == KIND_ES:
                m.theta.copy_(torch.from_numpy(theta))
            else:
                m.set_params(theta)
    batch = torch.zeros(1, 1)

    def step(i):
        m.step_ = i + 1
        m.rng.manual_seed(100 + i)
        return batch

    return time_steps(m, step, n=n, warmup=0)


def _shipped_policy(kind: str):
    card = shipped_cards().get(kind)
    if not card:
        return None
    theta = card_extra(card).get("policy")
    return None if theta is None else np.asarray(theta, dtype=np.float64)


# -- the home card --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _thumb_replay() -> dict | None:
    card = shipped_cards().get(KIND_GA)
    return card_extra(card).get("replay") if card else None


def thumbnail():
    """The home card: a frame of the shipped GA bird's held-out flight (pipes, bird, the pipes
    it passed in the whole flight), or a frame of the game itself where none is shipped."""
    from PIL import Image, ImageDraw, ImageFont

    d = E.DIFFICULTIES[LEVEL]
    rep = _thumb_replay()
    t = 400
    if rep and len(rep["y"]) > t:
        y = rep["y"][t - 1]
        base, phase = np.asarray(rep["base"]), np.asarray(rep["phase"])
        label = f"{rep['pipes']} pipes"
    else:
        base, phase = E.pipe_tables(d, [EVAL_SEEDS[0]], E.n_pipes_for(d, t + 200))
        base, phase = base[0], phase[0]
        j = E.next_pipe(d, t)
        y, label = float(E.gap_top(d, base[j], phase[j], t)) + (d.gap - E.BIRD_H) / 2, ""
    s = 200 / (E.GROUND_Y + 20)  # game px -> card px
    W = 320 / s  # the game width the card shows
    img = Image.new("RGB", (320, 200), (112, 197, 206))
    g = ImageDraw.Draw(img)
    j0 = max(0, E.next_pipe(d, t) - 1)
    for j in range(j0, min(len(base), j0 + 6)):
        x = float(E.pipe_x(d, j, t))
        if x > W:
            break
        top = float(E.gap_top(d, base[j], phase[j], t))
        for y0, y1 in ((-5, top), (top + d.gap, E.GROUND_Y)):
            g.rectangle([x * s, y0 * s, (x + E.PIPE_W) * s, y1 * s], fill=(94, 170, 60),
                        outline=(40, 90, 30), width=2)
    g.rectangle([0, E.GROUND_Y * s, 320, 200], fill=(222, 216, 149))
    g.ellipse([E.BIRD_X * s, y * s, (E.BIRD_X + E.BIRD_W) * s, (y + E.BIRD_H) * s],
              fill=(250, 200, 40), outline=(120, 80, 0), width=2)
    if label:
        font = ImageFont.load_default(size=22)
        g.text((312, 8), label, fill=(255, 255, 255), font=font, anchor="ra", stroke_width=2,
               stroke_fill=(0, 0, 0))
    return img
