"""Flappy Bird by evolution (issue 26, part 1): the game's physics against trajectories computed
by hand, the learners' selection, update and exact resume, the page's sections, and the shipped
genetic algorithm's card against its target."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from conftest import wait_job
from unsup import checkpoints, paths
from unsup.envs import flappy as E
from unsup.models import evolution as V
from unsup.recipes import evolution as R
from unsup.train import fit

ROOT = Path(__file__).resolve().parent.parent
CLASSIC = E.DIFFICULTIES["classic"]
DATA = torch.zeros(64, 1)


def never(x, ids):
    return np.zeros(len(ids), dtype=bool)


def always(x, ids):
    return np.ones(len(ids), dtype=bool)


def heights(d, policy, frames, seed=0):
    ep = E.play(d, [seed], policy, max_frames=frames, record=frames)
    return ep, ep.trace["replay"]["y"]


# -- the game -------------------------------------------------------------------------------------
def test_a_bird_that_never_flaps_falls_as_gravity_says_and_dies_on_the_ground():
    ep, y = heights(CLASSIC, never, 100)
    # starts at 244 with the flap's -9 px/frame; +1 px/frame each frame up to 10 px/frame
    assert y[:12] == [236, 229, 223, 218, 214, 211, 209, 208, 208, 209, 211, 214]
    assert y[18] == 263 and y[19] == 273 and y[29] == 373  # 10 px/frame from frame 19 on
    # frame 31 would reach 383; the ground stops it at 404.48 - 24 = 380.48, and it crashes
    assert y[30] == pytest.approx(380.48)
    assert int(ep.frames[0]) == 31 and bool(ep.crashed[0]) and int(ep.pipes[0]) == 0
    assert len(y) == 31  # nothing after the crash


def test_a_flap_sets_the_velocity_and_skips_that_frames_gravity():
    def at_frame_5(x, ids, t=[0]):
        t[0] += 1
        return np.array([t[0] == 5])

    _, y = heights(CLASSIC, at_frame_5, 12)
    assert y[:4] == [236, 229, 223, 218]
    # frame 5 flaps: velocity -9 (not -9 + 1); then -8, -7, ...
    assert y[4:8] == [209, 201, 194, 188]


def test_flaps_stop_working_above_the_screen_and_the_upper_pipe_kills():
    ep, y = heights(CLASSIC, always, 200)
    assert y[:3] == [235, 226, 217]  # -9 px every frame
    assert y[31] == 244 - 9 * 32  # -44: still below y = -48, so frame 33 flaps once more
    assert y[32] == -53 and y[33] == -61  # above -48 the flap does nothing: gravity acts
    # the first pipe (x = 288 - 4t) reaches the bird's right edge (57 + 34) at frame 50
    assert int(ep.frames[0]) == 50 and int(ep.pipes[0]) == 0


def test_the_lower_pipe_kills_a_bird_below_the_gap():
    low = E.Difficulty(gap=80, top_min=40, top_max=60, top_step=0)  # gap bottom <= 140

    def hover(x, ids):  # keeps its bottom near 300 px: far below every gap
        return x[:, 0] < (E.GROUND_Y - 300) / 200 - 1

    ep = E.play(low, [1, 2], hover, max_frames=200)
    assert ep.frames.tolist() == [50, 50] and ep.pipes.tolist() == [0, 0]


def test_a_pipe_counts_once_when_its_middle_passes_the_birds_middle():
    # pipe j's middle at the start of frame t: 288 + 150 j - 4 (t - 1) + 26; the bird's: 74
    assert [E.pipes_passed(CLASSIC, t) for t in (0, 60, 61, 98, 99, 135, 136)] == [
        0, 0, 1, 1, 2, 2, 3]
    wide = E.Difficulty(gap=300, top_min=50, top_max=100, top_step=0)

    def hover(x, ids):  # stays near the middle of a 300 px gap: never crashes
        return x[:, 0] < 0.2

    for frames, pipes in ((60, 0), (61, 1), (99, 2), (1_000, E.pipes_passed(wide, 1_000))):
        ep = E.play(wide, [5], hover, max_frames=frames)
        assert not ep.crashed[0] and int(ep.frames[0]) == frames and int(ep.pipes[0]) == pipes
    counts = [E.pipes_passed(wide, t) for t in range(2_000)]
    assert set(np.diff(counts)) == {0, 1}  # never twice in a frame


def test_pipes_depend_on_the_seed_alone_and_birds_do_not_interact():
    a = E.pipe_tables(E.DIFFICULTIES["hard"], [7, 8], 30)
    b = E.pipe_tables(E.DIFFICULTIES["hard"], [8], 30)
    assert np.array_equal(a[0][1], b[0][0]) and not np.array_equal(a[0][0], a[0][1])
    theta = E.init_params(np.random.default_rng(3), 6, 8)
    together = E.play(E.DIFFICULTIES["hard"], np.arange(6), E.greedy(theta, 8), max_frames=600)
    for i in range(6):
        alone = E.play(E.DIFFICULTIES["hard"], [i], E.greedy(theta[i], 8), max_frames=600)
        assert alone.frames[0] == together.frames[i] and alone.pipes[0] == together.pipes[i]


def test_the_classic_level_has_the_games_numbers():
    c = E.physics_constants()
    assert (c["W"], c["H"], c["birdX"], c["birdW"], c["birdH"]) == (288, 512, 57, 34, 24)
    assert (c["gravity"], c["flapVel"], c["maxFall"], c["startY"]) == (1, -9, 10, 244)
    assert CLASSIC.gap == 100 and CLASSIC.speed == 4
    base, _ = E.pipe_tables(CLASSIC, [0, 1, 2], 400)
    assert set(np.unique(base)) == set(range(100, 171, 10))  # the game's 8 gap heights


# -- the learners ---------------------------------------------------------------------------------
def tiny(cls, **kw):
    cfg = cls.config_class.tiny()
    for k, v in {**V.level_fields("classic"), **kw}.items():
        setattr(cfg, k, v)
    return cls(cfg)


def test_selection_keeps_the_elite_unchanged_and_in_front():
    ga = tiny(V.GeneticAlgorithm)
    fit(ga, DATA, steps=3, log_every=1)
    elite = ga.population[0].clone()
    c = ga.config
    fit(ga, DATA, steps=1, log_every=1)
    # the old elite is in the new generation, bit for bit (mutants never equal it)
    assert any(torch.equal(row, elite) for row in ga.population)
    # the new elite is one of the generation's best: re-evaluated among the top candidates
    f = ga.fitness.numpy()
    assert f[0] >= np.sort(f)[::-1][c.elite_candidates - 1]
    # everyone else is sorted best first
    assert np.all(np.diff(f[1:]) <= 0)


def test_children_are_mutants_of_the_truncated_parents():
    ga = tiny(V.GeneticAlgorithm, sigma=1e-3)
    fit(ga, DATA, steps=2, log_every=1)
    parents = ga.population[:ga.config.parents].clone()
    fit(ga, DATA, steps=1, log_every=1)
    dist = torch.cdist(ga.population.double(), parents.double()).min(1).values
    assert float(dist.max()) < 1e-3 * 6 * np.sqrt(ga.n_params)  # no child strays far
    assert int((dist == 0).sum()) >= 1  # the elite itself


def test_the_genetic_algorithm_resumes_bit_identically(tmp_path):
    k, m = 3, 2
    straight = tiny(V.GeneticAlgorithm)
    fit(straight, DATA, steps=k + m, log_every=1)
    first = tiny(V.GeneticAlgorithm)
    fit(first, DATA, steps=k, log_every=1, checkpoint_path=tmp_path / "ga")
    resumed = checkpoints.load(tmp_path / "ga.safetensors", optimizer=True)
    assert resumed.step_ == k
    fit(resumed, DATA, steps=m, log_every=1)
    assert torch.equal(straight.population, resumed.population)
    assert torch.equal(straight.fitness, resumed.fitness)
    assert int(straight.frames_) == int(resumed.frames_)
    assert straight.curve() == resumed.curve()


@pytest.mark.parametrize("cls", [V.EvolutionStrategy, V.PolicyGradient])
def test_es_and_policy_gradient_resume_exactly(cls, tmp_path):
    straight = tiny(cls)
    fit(straight, DATA, steps=3, log_every=1)
    first = tiny(cls)
    fit(first, DATA, steps=2, log_every=1, checkpoint_path=tmp_path / "m")
    again = checkpoints.load(tmp_path / "m.safetensors", optimizer=True)
    fit(again, DATA, steps=1, log_every=1)
    assert np.array_equal(straight.policy_params(), again.policy_params())
    assert int(straight.frames_) == int(again.frames_)


def test_the_es_gradient_points_uphill_on_a_quadratic():
    rng = np.random.default_rng(0)
    mean, target, sigma = np.zeros(5), np.array([1.0, -2.0, 0.5, 0.0, 3.0]), 0.1
    eps = rng.standard_normal((200, 5))
    pop = np.concatenate([mean + sigma * eps, mean - sigma * eps])
    fitness = -((pop - target) ** 2).sum(1)
    g = V.es_gradient(fitness, eps, sigma)
    cos = g @ target / (np.linalg.norm(g) * np.linalg.norm(target))
    assert cos > 0.9  # the true gradient at 0 is 2 * target
    assert np.allclose(V.centered_ranks(np.array([3.0, 1.0, 2.0])), [0.5, -0.5, 0.0])


def test_es_moves_the_mean_toward_longer_flights():
    es = tiny(V.EvolutionStrategy, population=32, lr=0.1)
    fit(es, DATA, steps=1, log_every=1)
    seeds = np.arange(16) + V.EVAL_SEED_BASE

    def lived(theta):
        return E.play(es.game, seeds, E.greedy(theta, 8), max_frames=300).frames.mean()

    before = lived(es.policy_params())
    fit(es, DATA, steps=8, log_every=1)
    assert lived(es.policy_params()) > before + 5


def test_policy_gradient_returns_are_the_discounted_rewards():
    pg = tiny(V.PolicyGradient, gamma=0.5)
    ep = E.Episodes(pipes=np.array([0]), frames=np.array([3]), crashed=np.array([True]),
                    trace={"ids": [np.array([0])] * 3})
    t, bird, G = pg.returns(ep)
    assert t.tolist() == [0, 1, 2] and bird.tolist() == [0, 0, 0]
    # rewards +0.1, +0.1, then -1 for the crash
    assert np.allclose(G, [0.1 + 0.5 * (0.1 + 0.5 * -1), 0.1 + 0.5 * -1, -1])


def test_frame_budget_ends_learning_and_frames_are_counted():
    ga = tiny(V.GeneticAlgorithm, frame_budget=1)
    fit(ga, DATA, steps=3, log_every=1)
    assert R.steps_used(ga) == 1  # the budget was spent by the first generation
    # every bird's frames count, the elite's re-evaluation included
    fresh = tiny(V.GeneticAlgorithm)
    fit(fresh, DATA, steps=1, log_every=1)
    assert int(fresh.frames_) >= fresh.config.population * 31 // 2


def test_the_card_keeps_curves_policy_and_a_replay_on_an_unseen_seed():
    ga = tiny(V.GeneticAlgorithm)
    fit(ga, DATA, steps=4, log_every=1)
    out = R.evaluate(ga)
    x = out["extra_metrics"]
    assert len(x["pipes"]) == 20 and out["pipes_median"] == float(np.median(x["pipes"]))
    assert min(x["seeds"]) >= V.EVAL_SEED_BASE
    assert x["curve"]["step"] == [1, 2, 3, 4]
    assert x["curve"]["best"][-1] >= x["curve"]["median"][-1] >= x["curve"]["worst"][-1]
    rep = x["replay"]
    assert rep["pipes"] == x["pipes"][0] and len(rep["y"]) == min(rep["frames"], R.REPLAY_FRAMES)
    json.dumps(out)  # a card holds plain JSON
    # the decision surface is the stored policy's
    d = E.difficulty(x["difficulty"])
    dist, tops, p = R.decision_surface(x["policy"], 8, d, nx=5, ny=4)
    assert p.shape == (4, 5) and ((p >= 0) & (p <= 1)).all()


def test_a_page_job_trains_measures_and_resumes(tmp_path, monkeypatch):
    from unsup.jobs import ThreadRunner

    monkeypatch.setenv("UNSUP_RUNS_DIR", str(tmp_path))
    monkeypatch.setitem(R.CONFIGS, R.KIND_GA, {**R.GA, "max_frames": 300})
    runner = ThreadRunner()

    def wait(job):
        return wait_job(runner, job, timeout=120.0)

    snap = wait(runner.submit(R.training_spec(R.KIND_GA, level="very hard", population=16,
                                              steps=4)))
    assert snap.status == "done", snap.error
    card = checkpoints.load(snap.checkpoint).card_
    assert card["step"] == 4 and len(card["metrics"]["extra_metrics"]["pipes"]) == 20
    again = wait(runner.submit(R.training_spec(steps=2, resume=snap.checkpoint)))
    assert again.status == "done", again.error
    m = checkpoints.load(again.checkpoint)
    assert m.step_ == 6 and m.kind == R.KIND_GA and m.config.population == 16


# -- the page -------------------------------------------------------------------------------------
def run_page(section: str | None = None, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "evolution.py"), default_timeout=60)
    if section:
        at.session_state["evo_section"] = section
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def _array(v) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array ({"dtype", "bdata", "shape"})."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape([int(k) for k in str(v.get("shape", len(a))).split(",")])
    return np.array(v, dtype=float)


def _iframes(at) -> list[str]:
    out = []
    for el in at.get("iframe"):
        p = el.proto
        out.append(getattr(p, "srcdoc", "") or getattr(p, "src", ""))
    return out


def test_without_shipped_runs_each_section_says_how_to_make_them(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "SHIPPED_DIR", tmp_path)
    at = run_page()
    assert any("python -m unsup train flappy-ga --out checkpoints" in i.value for i in at.info)
    at = run_page("Play it yourself")
    assert any("flappy-ga" in i.value for i in at.info)
    assert any("flappy-game" in s for s in _iframes(at))  # the game still plays


def shipped_card(name: str) -> dict:
    path = checkpoints.weights_path(paths.SHIPPED_DIR / name)
    if not path.exists():
        pytest.skip(f"{name} is not shipped")
    return checkpoints.read_card(path)


def test_the_section_shows_the_shipped_numbers_curves_replay_and_surface():
    ga = shipped_card("flappy-ga")
    at = run_page()
    table = at.dataframe[0].value
    row = table[table["learner"] == "Genetic algorithm"].iloc[0]
    assert row["median pipes (20 unseen seeds)"] == ga["metrics"]["pipes_median"]
    curves = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = {t.get("name") for t in curves["data"]}
    assert {"best bird of the step", "median bird", "worst bird"} <= names
    assert curves["data"][0]["x"] == R.card_extra(ga)["curve"]["mframes"]
    frames = _iframes(at)
    replay = next(s for s in frames if "flappy-replay" in s)
    assert "requestAnimationFrame" in replay
    assert json.dumps(R.card_extra(ga)["replay"]["y"][:5], separators=(",", ":"))[:-1] in replay
    surface = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert surface["data"][0]["type"] == "heatmap"
    z = _array(surface["data"][0]["z"])
    assert 0 < (z > 0.5).mean() < 1  # it flaps somewhere and falls somewhere


def test_the_play_section_shows_the_ga_median_beside_yours():
    ga = shipped_card("flappy-ga")
    at = run_page("Play it yourself")
    game = next(s for s in _iframes(at) if "flappy-game" in s)
    assert f"GA bird's median: {ga['metrics']['pipes_median']:.0f} pipes" in game
    assert "keydown" in game


@pytest.mark.slow
def test_shipped_ga_card_meets_the_target():
    """The shipped card: the GA's best policy passes a median of >= 50 pipes over the 20
    unseen seeds (recomputed from the stored weights, so the card cannot claim more)."""
    card = shipped_card("flappy-ga")
    assert card["metrics"]["pipes_median"] >= R.TARGET_PIPES
    model = checkpoints.load(checkpoints.weights_path(paths.SHIPPED_DIR / "flappy-ga"))
    ep = R.held_out(model)
    assert float(np.median(ep.pipes)) == card["metrics"]["pipes_median"]
    assert card["metrics"]["mframes"] <= R.FRAME_BUDGET / 1e6 * 1.1


def test_the_train_form_offers_three_learners_and_the_levels():
    at = run_page("Train")
    from unsup.ui.evolution import LEARNERS

    assert at.selectbox(key="evo_kind").options == list(LEARNERS.values())
    assert at.selectbox(key="evo_level").options == list(E.DIFFICULTIES)
    assert at.selectbox(key="evo_level").value == R.LEVEL
    assert at.button(key="evo_start").label == "Start training"
    assert any("timing a few steps" in c.value or "measured on this machine" in c.value
               for c in at.caption)  # a measured estimate, never a typed-in time
