"""The Flappy Bird half of the "Evolution & AutoML" page: the shipped runs (curves, scores on
unseen pipes, a replay, the decision surface), the game to play yourself, and the training form.
Everything shown comes from the checkpoints' cards (measured by the command that trained them);
the page computes only the decision surface (a few thousand forward passes of a 7-8-1 network)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from unsup import checkpoints
from unsup.envs import flappy as E
from unsup.recipes import evolution as R
from unsup.ui import tables, training
from unsup.ui.models import pick_entry
from unsup.ui.text import md, safe
from unsup.viz import evolution as V

PAGE = "evolution"


def _entries() -> list[checkpoints.Entry]:
    return checkpoints.list_models(R.KINDS)


def _shipped(entries) -> dict[str, checkpoints.Entry]:
    out = {}
    for e in entries:
        if e.source == "shipped" and e.name == R.PRESET_OF.get(e.kind):
            out[e.kind] = e
    return out


def _extra(entry) -> dict:
    return R.card_extra(entry.card or {}) if entry is not None else {}


def _metrics(entry) -> dict:
    return (entry.card or {}).get("metrics") or {} if entry is not None else {}


def _missing() -> None:
    st.info("No shipped Flappy Bird runs yet: `python -m unsup train flappy-ga --out "
            "checkpoints`, then `flappy-es` and `flappy-reinforce` the same way, make them "
            "(a few minutes each); or train one under *Train*.")


# -- the shipped results --------------------------------------------------------------------------
def _table(shipped: dict[str, checkpoints.Entry]) -> None:
    rows = []
    for kind in R.KINDS:
        e = shipped.get(kind)
        m = _metrics(e)
        if not m:  # not shipped, or still training
            continue
        rows.append({"learner": R.SHORT[kind],
                     "median pipes (20 unseen seeds)": m.get("pipes_median"),
                     "mean": m.get("pipes_mean"),
                     "worst seed": m.get("pipes_min"), "best seed": m.get("pipes_max"),
                     "seeds at the cap": m.get("at_cap"),
                     "game frames (M)": m.get("mframes"),
                     "steps": m.get("steps_used"),
                     "minutes": round(float(e.card.get("seconds") or 0) / 60, 1)})
    tables.show(pd.DataFrame(rows), key="evo_scores")
    st.caption(safe("Each learner's final policy (the GA's elite, the ES's mean, the policy "
                    "gradient's network, each flapping when its probability is above one half) "
                    "flies 20 pipe sequences whose seeds training never drew, until it crashes "
                    "or {cap:,} frames (about {pipes} pipes; *seeds at the cap* counts those "
                    "it never crashed on); **more pipes is better**. *Minutes*: training time "
                    "on one thread of this 2-core machine. All "
                    "three spent the same budget of game frames (a step is a generation of the "
                    "GA or ES, a batch of games for the policy gradient). The target for the GA "
                    "is a median of {target} pipes.", cap=R.EVAL_FRAMES,
                    pipes=E.pipes_passed(E.DIFFICULTIES[R.LEVEL], R.EVAL_FRAMES),
                    target=R.TARGET_PIPES))


def _curves(shipped: dict[str, checkpoints.Entry]) -> None:
    runs = []
    for kind in R.KINDS:
        e = shipped.get(kind)
        if e is not None:
            runs.append((R.SHORT[kind], _extra(e).get("curve") or {},
                         (e.card or {}).get("milestones") or {}))
    st.plotly_chart(V.fitness_curves(runs, target=R.TARGET_PIPES), key="evo_curves")
    cap = R.GA_MAX_FRAMES
    st.caption(safe("Pipes passed per step against game frames spent (the same x axis for all "
                    "three), each line a running mean over a few steps. Lines: the best, median "
                    "and worst bird of each step on that step's fresh pipes; dotted: the "
                    "learner's current policy on a few more fresh pipe sequences (the GA's elite "
                    "on 10); diamonds: its median on the 20 unseen seeds at a few steps. A GA or "
                    "ES step's birds are mutants, so its worst bird stays near 0; the policy "
                    "gradient's birds draw their flaps at random. A training game ends at "
                    "{cap:,} frames (about {pipes} pipes), where the best bird's line stops. "
                    "Higher is better; the dashed line is the GA's target.", cap=cap,
                    pipes=E.pipes_passed(E.DIFFICULTIES[R.LEVEL], cap)))


def _level_of(extra: dict) -> E.Difficulty:
    try:
        return E.difficulty(extra.get("difficulty") or R.LEVEL)
    except (TypeError, ValueError):
        return E.DIFFICULTIES[R.LEVEL]


def _replay(entry, extra: dict) -> None:
    rep = extra.get("replay")
    if not rep:
        st.caption("This run has no recorded flight (it was stopped before its measurement).")
        return
    d = _level_of(extra)
    pipes = extra.get("pipes") or []
    label = f"{R.SHORT.get(entry.kind, entry.kind)}, unseen seed 1 of 20"
    st.iframe(V.replay_html(rep, d.to_dict(), E.physics_constants(), label),
              height=int((E.GROUND_Y + 40) * 1.25) + 50)
    st.caption(safe("The policy's flight on the first unseen pipe sequence, recorded when it "
                    "was measured and played here by your browser at the game's 30 frames a "
                    "second (the first {n:,} frames are kept). On this sequence it passed "
                    "**{p}** pipes{rest}.", n=R.REPLAY_FRAMES, p=rep.get("pipes"),
                    rest=(f"; its median over all 20 is {float(np.median(pipes)):g}"
                          if pipes else "")))


def _surface(entry, extra: dict) -> None:
    theta = extra.get("policy")
    if theta is None:
        st.caption("This run has no stored policy to draw (it was stopped before its "
                   "measurement).")
        return
    d = _level_of(extra)
    c1, c2 = st.columns(2)
    vel = c1.slider("Bird's vertical speed (px a frame; negative is up)", -9, 10, 0,
                    key="evo_vel")
    top = c2.slider("Next gap's top (px from the top of the screen)", int(d.top_min),
                    int(d.top_max), int((d.top_min + d.top_max) / 2), key="evo_gap")
    dist, tops, p = R.decision_surface(theta, int(extra.get("n_hidden") or 8), d,
                                       velocity=float(vel), gap_top=float(top))
    st.plotly_chart(V.decision_figure(dist, tops, p, gap_top=float(top), gap=d.gap,
                                      pipe_w=E.PIPE_W, bird_w=E.BIRD_W, bird_h=E.BIRD_H,
                                      ground=E.GROUND_Y), key="evo_surface")
    share = float((p > 0.5).mean())
    st.caption(safe("What the network decides: red where it flaps (probability above one "
                    "half), blue where it lets itself fall, for every height of the bird and "
                    "distance to the end of the next pipe, with the gap still and the gap "
                    "after it at the same height. Left of the dotted line the bird is inside "
                    "the pipe; between the two black lines it fits through the gap. It flaps "
                    "in {s:.0%} of this picture.", s=share))


def flappy_section() -> None:
    entries = _entries()
    shipped = _shipped(entries)
    st.markdown(safe("Flappy Bird's rules (gravity, a flap's impulse, the pipes), on the "
                     "**{level}** level: {note}. Each bird is a network of 7 inputs (its height "
                     "and speed, the next gap's edges and motion, the gap after), 8 hidden units "
                     "and one output, *flap or not*, every frame. Three learners spend the same "
                     "number of game frames: a **genetic algorithm** (the best birds have "
                     "mutated children), an **evolution strategy** (one network nudged towards "
                     "the better of its random variants) and a **policy gradient** (REINFORCE: "
                     "flaps drawn at random, made likelier when the flight went well).",
                     level=R.LEVEL, note=E.DIFFICULTY_NOTES[R.LEVEL]))
    if not shipped:
        _missing()
    else:
        _table(shipped)
        _curves(shipped)
    if not entries:
        return
    st.subheader("A bird's flight and its decisions")
    entry = pick_entry("Policy", entries, "evo_pick", default=R.PRESET_OF[R.KIND_GA],
                       kinds=R.KINDS)
    if entry is None:
        return
    extra = _extra(entry)
    left, right = st.columns([2, 3])
    with left:
        _replay(entry, extra)
    with right:
        _surface(entry, extra)


# -- play it yourself -----------------------------------------------------------------------------
def play_section() -> None:
    levels = list(E.DIFFICULTIES)
    level = st.segmented_control("Difficulty", levels, default=R.LEVEL, key="evo_play_level",
                                 format_func=str.capitalize) or R.LEVEL
    d = E.DIFFICULTIES[level]
    st.caption(md(f"{level.capitalize()}: {E.DIFFICULTY_NOTES[level]}."))
    ga = _shipped(_entries()).get(R.KIND_GA)
    shipped_level = (ga.card.get("config") or {}).get("level") if ga is not None else None
    if ga is not None and shipped_level == level:
        med = _metrics(ga).get("pipes_median")
        rival = f"GA bird's median: {med:.0f} pipes"
    elif ga is not None:
        rival = f"the GA bird was trained on '{shipped_level}'"
    else:
        rival = "no GA bird shipped yet"
    st.iframe(V.play_html(d.to_dict(), E.physics_constants(), rival),
              height=int((E.GROUND_Y + 40) * 1.25) + 50)
    if ga is None:
        _missing()
    st.caption(safe("The same rules as the birds': gravity 1 px a frame², a flap sets the "
                    "speed to 9 px a frame upwards, falls are capped at 10, {fps} frames a "
                    "second; your pipes are drawn at random in the browser. The GA bird's "
                    "median is over 20 pipe sequences it never saw in training.", fps=E.FPS))


# -- training -------------------------------------------------------------------------------------
LEARNERS = {R.KIND_GA: R.KIND_LABELS[R.KIND_GA], R.KIND_ES: R.KIND_LABELS[R.KIND_ES],
            R.KIND_PG: R.KIND_LABELS[R.KIND_PG]}


def _runs() -> list[checkpoints.Entry]:
    return [e for e in _entries() if e.source == "user"]


def train_form() -> None:
    st.subheader("Train a flock")
    shown = training.job_panel(PAGE, ["best", "median", "worst", "score"],
                               title="Pipes passed per step",
                               y_title="pipes (higher is better)", preview_caption="")
    if shown:
        st.caption("Means over every 10 steps of the best, median and worst bird of each step, "
                   "and of the current policy's score on fresh pipes (the GA's elite). When "
                   "the run ends, its policy flies the 20 unseen pipe sequences and appears in "
                   "the Policy picker of the first section.")
        return
    st.write("Evolve a flock (or train the policy gradient) on the difficulty you choose, in "
             "the background. Switch pages freely; Stop keeps the last checkpoint; Resume "
             "continues it, also after a restart.")
    training.resume_from_disk(PAGE, _runs(), lambda path, more: R.training_spec(
        steps=int(more), resume=path), unit="steps", default=50, step=10)
    c = st.columns(4)
    kind = c[0].selectbox("Learner", list(LEARNERS), format_func=LEARNERS.get, key="evo_kind")
    level = c[1].selectbox("Difficulty", list(E.DIFFICULTIES), index=list(
        E.DIFFICULTIES).index(R.LEVEL), key="evo_level")
    pop = int(c[2].number_input("Birds a step" if kind != R.KIND_PG else "Games a step", 16,
                                512, 128, step=16, key="evo_pop"))
    unit = "Batches" if kind == R.KIND_PG else "Generations"
    steps = int(c[3].number_input(unit, 1, 5_000, R.JOB_STEPS[kind], step=50,
                                  key=f"evo_steps_{kind}"))
    st.caption(md(f"{level.capitalize()}: {E.DIFFICULTY_NOTES[level]}."))
    training.estimate_caption(f"flappy-{kind}", (kind, level, pop),
                              lambda: R.estimate_step_seconds(kind, level, pop), steps)
    st.caption("The estimate times steps of birds that already fly well (each step lasts as "
               "long as its birds do), so the first steps of a new run go faster.")
    if st.button("Start training", type="primary", icon=":material/play_arrow:",
                 key="evo_start"):
        try:
            spec = R.training_spec(kind, level=level, population=pop, steps=steps)
        except ValueError as exc:
            st.error(md(str(exc)))
            return
        if training.start(PAGE, lambda: spec):
            st.rerun()
