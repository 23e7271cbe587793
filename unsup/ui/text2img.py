"""The "GAN applications" page's text-to-image section: type a sentence (English or Thai), see
which words the model knows, the samples of both stages, and the held-out table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from unsup import checkpoints
from unsup.checkpoints import Entry
from unsup.recipes import text2img as T
from unsup.ui import tables, training
from unsup.ui.models import model_of, pick_entry
from unsup.ui.text import code, join, md, safe

PAGE = "gan-apps"
SHIPPED = "t2i-dsprites"


def entries() -> list[Entry]:
    return checkpoints.list_models(T.STACKGAN)


def highlighted(tokens) -> str:
    """The sentence's words as coloured marks: green a word that names a factor, grey a known
    word that names none, red (struck through) a word the model does not know."""
    parts = []
    for t in tokens:
        if t.id is None:
            parts.append(safe(":red-background[:red[~~{w}~~]]", w=t.text))
        elif t.meaning:
            parts.append(safe(":green-background[:green[**{w}**]]", w=t.text))
        else:
            parts.append(safe(":gray[{w}]", w=t.text))
    return join(" ", parts)


def t2i_section() -> None:
    from unsup.viz.images import grid

    st.markdown("**Text to image** (StackGAN, Zhang et al. 2017): a sentence about a sprite, "
                "in English or Thai, becomes a 32×32 sketch (stage I) and then a 64×64 image "
                "(stage II, which reads the sentence again to correct the sketch). The model "
                "learnt every word from pictures alone, and never saw the 32 held-out "
                "combinations of shape, size and place together.")
    items = entries()
    if not items:
        st.info(safe("No text-to-image model yet: train the shipped one with {c}.",
                     c=code(f"python -m unsup train {SHIPPED} --out checkpoints")))
        return
    entry = pick_entry("Model", items, "t2i_model", default=SHIPPED)
    if entry is None:
        return
    model = model_of(entry)
    if model is None:
        return
    ex = st.pills("Examples", list(T.EXAMPLES), key="t2i_example",
                  help="Pick one to put it in the box below")
    if ex and st.session_state.get("t2i_last_example") != ex:
        st.session_state["t2i_text"] = ex
        st.session_state["t2i_last_example"] = ex
    st.session_state.setdefault("t2i_text", T.EXAMPLES[0])
    text = st.text_input("Sentence", key="t2i_text", max_chars=300,
                         help="English or Thai: shape (square, ellipse, heart), size (tiny … "
                              "huge), place (top, bottom, left, right, middle), angle "
                              "(turned N degrees)")
    c = st.columns([1, 1, 3])
    n = int(c[0].number_input("Samples", 2, 12, 6, key="t2i_n"))
    seed = int(c[1].number_input("Seed", 0, 10_000, 0, key="t2i_seed",
                                 help="Another seed, other noise: other drawings"))
    view = T.sentence_view(model, text, n, seed)
    st.markdown(safe("Words: {h}", h=highlighted(view["tokens"]) or md("(none)")),
                help="Green: a word the model knows that names a shape, size, place or angle. "
                     "Grey: a word it knows that names none. Red, struck through: a word it "
                     "does not know (ignored).")
    unknown = view["reads"].get("unknown") or []
    if unknown:
        st.warning(safe("Not known to the model, so ignored: {w}. It knows the words of "
                        "the examples (shapes, six sizes, places, angles).",
                        w=join(", ", [safe("**{u}**", u=u) for u in unknown])))
    for f in view["reads"].get("conflicts") or []:
        st.warning(safe("The sentence names two values of {f}; the model reads both words "
                        "and draws something between them.", f=f))
    if view["reads"].get("truncated"):
        st.warning(safe("Only the first {k} known words are read; ignored: {w}.",
                        k=view["max_tokens"],
                        w=join(", ", [md(w) for w in view["reads"]["truncated"]])))
    names = view["names"]
    said = join(" · ", [safe("{k} **{v}**", k=k, v=v) for k, v in names.items()])
    held = {True: safe(" This combination was **held out** of training: the model composes "
                       "it from words it saw apart."),
            False: safe(" This combination was in the training captions."),
            None: safe("")}[view["held_out"]]
    st.caption(safe("The sentence names: {s}.{h} What it leaves out, the model picks at "
                    "random.", s=said or md("nothing the model knows"), h=held))
    st.image(grid(view["both"], n, pad=2, scale=2), output_format="PNG",
             caption=md(f"{n} samples, seed {seed}: stage I's 32×32 sketches (top row, "
                        "enlarged with nearest neighbours) and stage II's 64×64 images "
                        "(bottom row)"))
    if view["seen"] is not None:
        ok = sum(view["agree"])
        st.caption(safe("The sprite reader (a CNN trained on real dSprites) finds what the "
                        "sentence names in **{ok} of {n}** stage-II samples: {per}.", ok=ok, n=n,
                        per=join("; ", [safe("{i}. {s} {m}", i=i + 1, m="✓" if g else "✗",
                                             s=f"{s['shape']}, {s['scale']}, {s['position']}")
                                        for i, (s, g) in enumerate(zip(view["seen"],
                                                                       view["agree"]))])))
    heldout_table(entry)


COLUMNS = {
    "what": tables.Col("read back", "medium"),
    "chance": tables.Col("chance %", "small", "Guessing uniformly", "%.1f"),
    "stage1": tables.Col("stage I % ↑", "small", "The reader's accuracy on the 32×32 sketches "
                         "(enlarged bilinearly); higher is better", "%.1f"),
    "stage2": tables.Col("stage II % ↑", "small", "The reader's accuracy on the 64×64 images; "
                         "higher is better", "%.1f"),
    "seen": tables.Col("stage II, seen combos %", "small", "The same on sentences of "
                       "combinations the model trained on", "%.1f"),
}


def table_rows(m: dict) -> list[dict]:
    labels = {"shape": "shape (3)", "scale": "scale level (6)", "cell": "position cell (3×3)",
              "all": "all three right"}
    rows = []
    for k, label in labels.items():
        if f"s2_acc_{k}" not in m:
            continue
        rows.append({"what": label, "chance": 100 * m[f"chance_{k}"] if f"chance_{k}" in m
                     else 100 / 162,
                     "stage1": 100 * m[f"s1_acc_{k}"], "stage2": 100 * m[f"s2_acc_{k}"],
                     "seen": 100 * m[f"seen_s2_acc_{k}"] if f"seen_s2_acc_{k}" in m else None})
    return rows


def verdict(m: dict) -> str:
    """Sentences computed from the card: the weakest factor at stage II against the 80% target,
    and which stage is closer to real sprites."""
    accs = {k: m[f"s2_acc_{k}"] for k in ("shape", "scale", "cell")}
    worst = min(accs, key=accs.get)
    s = (f"At stage II every factor is read back at {100 * accs[worst]:.1f}% or more "
         f"(weakest: {worst}): ")
    s += ("all three at the 80% target or above. " if accs[worst] >= 0.8
          else "below the 80% target. ")
    better = m["s2_fd"] < m["s1_fd"]
    s += (f"Fréchet distance to real sprites of the same sentences (in the reader's features; "
          f"lower is more real, {m['real_fd']:,.0f} between two sets of real ones): stage I "
          f"{m['s1_fd']:,.0f}, stage II {m['s2_fd']:,.0f}, so stage II is "
          f"{'closer to real sprites' if better else 'not closer to real sprites'}.")
    return s


def heldout_table(entry: Entry) -> None:
    m = (entry.card or {}).get("metrics") or {}
    if "s2_acc_shape" not in m:
        st.caption("This model's card holds no held-out numbers yet.")
        return
    st.markdown(safe("**On {n} sentences of held-out combinations** (half English, half "
                     "Thai; e.g. {ex}; numbers from the model's card)", n=f"{m['n_heldout']:,}",
                     ex=join(", ", [md(e) for e in T.heldout_examples(3)])))
    df = pd.DataFrame(table_rows(m))
    tables.show(df, COLUMNS, key="t2i_table")
    st.caption(md(verdict(m)))


def training_form() -> None:
    st.write("Train a StackGAN in the background on the built-in captioned dSprites (English "
             "and Thai sentences, the held-out combinations kept out): stage I for the first "
             "half of the steps, then stage II. It trains on sentences the lab writes from "
             "each sprite's factors; your own sentences are for the Text to image section. "
             "Stop keeps the last checkpoint, which then appears in the section's model "
             "picker; Resume continues it, also after a restart.")
    training.resume_from_disk(PAGE, [e for e in entries() if e.source != "shipped"],
                              lambda path, more: T.training_spec(steps=int(more), resume=path),
                              default=1_000, step=100)
    steps = int(st.number_input("Steps", 20, 100_000, T.JOB_STEPS, step=100, key="t2t_steps",
                                help="Batches of 64 sprites with fresh sentences"))
    training.estimate_caption("t2t", 1, lambda: T.estimate_step_seconds(1), steps)
    if st.button("Start training", type="primary", icon=":material/play_arrow:",
                 key="t2t_start"):
        try:
            make = T.training_spec(steps=steps)
        except (ValueError, checkpoints.CheckpointError) as exc:
            st.error(md(str(exc)))
            return
        if training.start(PAGE, lambda: make):
            st.rerun()
