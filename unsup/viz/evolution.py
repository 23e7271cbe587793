"""Figures and browser games of the Flappy Bird section: pure functions of arrays and dicts
(curves, a decision surface, a recorded flight) returning plotly figures or HTML strings.

The replay and the "play it yourself" game are one canvas each, driven by JavaScript in the
browser (30 frames a second, the game's rate): the page sends the recorded flight once, as JSON,
and nothing reruns per frame. Both draw with the constants of :mod:`unsup.envs.flappy`
(``physics_constants``), and the game steps the same rules in the same order.
"""

from __future__ import annotations

import json

import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLORS = {"best": "#2ca02c", "median": "#1f77b4", "worst": "#d62728", "score": "#111111",
          "held": "#ff7f0e"}


def running_mean(y: list[float], w: int) -> list[float]:
    """Trailing mean over ``w`` points (fewer at the start)."""
    out, total = [], 0.0
    for i, v in enumerate(y):
        total += v
        if i >= w:
            total -= y[i - w]
        out.append(round(total / min(i + 1, w), 3))
    return out


def fitness_curves(runs: list[tuple[str, dict, dict]], *, target: float | None = None,
                   points: int = 60) -> go.Figure:
    """One panel per learner (``runs``: (title, curve, milestones)), side by side with one
    y axis: best / median / worst pipes of each step's birds against the game frames spent,
    the score of the learner's current policy (dotted), each a trailing mean over
    len / ``points`` recorded steps, and its held-out median at the milestones (diamonds).
    ``target``: a horizontal line (the GA's target)."""
    fig = make_subplots(rows=1, cols=max(1, len(runs)), shared_yaxes=True,
                        subplot_titles=[t for t, _, _ in runs], horizontal_spacing=0.03)
    for i, (_, curve, marks) in enumerate(runs):
        x = curve.get("mframes", [])
        w = max(1, len(x) // points)
        for key, name, dash in (("best", "best bird of the step", "solid"),
                                ("median", "median bird", "solid"),
                                ("worst", "worst bird", "solid"),
                                ("score", "current policy (fresh pipes)", "dot")):
            fig.add_trace(go.Scatter(
                x=x, y=running_mean(curve.get(key, []), w), name=name, legendgroup=key, showlegend=i == 0,
                mode="lines", line=dict(color=COLORS[key], dash=dash, width=1.5),
                hovertemplate="%{y:.1f} pipes at %{x:.1f} M frames<extra>" + name + "</extra>"),
                row=1, col=i + 1)
        if marks:
            pts, seen = [], set()
            for m in sorted(marks.values(), key=lambda m: m.get("step", 0)):
                if m.get("mframes") not in seen:  # steps after the frame budget: no new point
                    seen.add(m.get("mframes"))
                    pts.append(m)
            fig.add_trace(go.Scatter(
                x=[m["mframes"] for m in pts], y=[m["median"] for m in pts],
                name="held-out median (20 unseen seeds)", legendgroup="held",
                showlegend=i == 0, mode="markers+lines",
                marker=dict(symbol="diamond", size=9, color=COLORS["held"]),
                line=dict(color=COLORS["held"], width=1),
                hovertemplate="median %{y:.0f} pipes at %{x:.1f} M frames<extra></extra>"),
                row=1, col=i + 1)
        if target is not None:
            fig.add_hline(y=target, line=dict(color="#888", dash="dash", width=1), row=1,
                          col=i + 1)
        fig.update_xaxes(title_text="game frames spent (millions)", row=1, col=i + 1)
    fig.update_yaxes(title_text="pipes passed (higher is better)", row=1, col=1)
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def decision_figure(dist, tops, p, *, gap_top: float, gap: float, pipe_w: float,
                    bird_w: float, bird_h: float, ground: float) -> go.Figure:
    """The policy's flap probability over (distance to the end of the next pipe, bird's
    height) as a heatmap, the pipe drawn over it: the gap's edges as lines, and where the bird
    overlaps the pipe (distance below the pipe's and the bird's widths together)."""
    heights = [ground - bird_h - t for t in tops]  # px above the ground, bird's bottom
    fig = go.Figure(go.Heatmap(
        x=list(dist), y=heights, z=p, zmin=0, zmax=1, colorscale="RdBu_r",
        colorbar=dict(title="P(flap)"),
        hovertemplate="distance %{x:.0f} px, height %{y:.0f} px: P(flap) %{z:.2f}"
                      "<extra></extra>"))
    inside = pipe_w + bird_w
    lo, hi = ground - bird_h - (gap_top + gap - bird_h), ground - bird_h - gap_top
    for y, name in ((lo, "bird touches the lower pipe below this"),
                    (hi, "bird touches the upper pipe above this")):
        fig.add_shape(type="line", x0=0, x1=inside, y0=y, y1=y, line=dict(color="#222", width=2))
        fig.add_annotation(x=inside, y=y, text=name, showarrow=False, xanchor="left",
                           font=dict(size=11), bgcolor="rgba(255,255,255,0.75)")
    fig.add_shape(type="line", x0=inside, x1=inside, y0=0, y1=max(heights),
                  line=dict(color="#222", width=1, dash="dot"))
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title="horizontal distance to the end of the next pipe (px)",
                      yaxis_title="bird's height above the ground (px)")
    return fig


def _json(x) -> str:
    """JSON safe inside a <script> element (no "</" can end it early)."""
    return json.dumps(x, separators=(",", ":")).replace("</", "<\\/")


_COMMON_JS = r"""
const C = CONSTS, D = DIFF;
const SC = 1.25;  // drawing scale
const cv = document.getElementById('cv');
cv.width = C.W * SC; cv.height = (C.ground + 40) * SC;
const g = cv.getContext('2d');
function pipeX(j, t) { return C.firstPipeX + j * D.spacing - D.speed * t; }
function gapTop(base, phase, t) {
  return D.move_amp ? base + D.move_amp * Math.sin(2 * Math.PI * t / D.move_period + phase) : base;
}
function nextPipe(t) {
  return Math.max(0, Math.floor((D.speed * t + C.birdX - C.pipeW - C.firstPipeX) / D.spacing) + 1);
}
function passed(t) {
  if (t < 1) return 0;
  const lead = C.birdX + C.birdW / 2 - C.pipeW / 2 - C.firstPipeX + D.speed * (t - 1);
  return Math.max(0, Math.floor(lead / D.spacing + 1e-9) + 1);
}
function draw(t, y, bases, phases, wing, lines) {
  g.setTransform(SC, 0, 0, SC, 0, 0);
  g.fillStyle = '#70c5ce'; g.fillRect(0, 0, C.W, C.ground);
  const j0 = Math.max(0, nextPipe(t) - 1);
  for (let j = j0; j < Math.min(bases.length, j0 + 4); j++) {
    const x = pipeX(j, t); if (x > C.W) break;
    const top = gapTop(bases[j], phases[j], t);
    g.fillStyle = '#5eaa3c'; g.strokeStyle = '#285a1e'; g.lineWidth = 2;
    g.fillRect(x, -5, C.pipeW, top + 5); g.strokeRect(x, -5, C.pipeW, top + 5);
    g.fillRect(x, top + D.gap, C.pipeW, C.ground - top - D.gap);
    g.strokeRect(x, top + D.gap, C.pipeW, C.ground - top - D.gap);
  }
  g.fillStyle = '#ded895'; g.fillRect(0, C.ground, C.W, 40);
  g.fillStyle = '#b8a860'; for (let k = 0; k < 20; k++) {
    g.fillRect(((k * 24 - D.speed * t) % 480 + 480) % 480 - 24, C.ground, 12, 6); }
  g.fillStyle = '#fac828'; g.strokeStyle = '#785000'; g.lineWidth = 2;
  g.beginPath();
  g.ellipse(C.birdX + C.birdW / 2, y + C.birdH / 2, C.birdW / 2, C.birdH / 2, 0, 0, 2 * Math.PI);
  g.fill(); g.stroke();
  g.fillStyle = '#fff'; g.beginPath(); g.arc(C.birdX + 25, y + 8, 5, 0, 2 * Math.PI); g.fill();
  g.fillStyle = '#000'; g.beginPath(); g.arc(C.birdX + 27, y + 8, 2, 0, 2 * Math.PI); g.fill();
  g.fillStyle = '#f0a000'; g.beginPath();
  g.ellipse(C.birdX + 10, y + (wing ? 8 : 15), 8, 4, 0, 0, 2 * Math.PI); g.fill();
  g.font = 'bold 30px sans-serif'; g.textAlign = 'center'; g.lineWidth = 4;
  g.strokeStyle = '#000'; g.fillStyle = '#fff';
  g.strokeText(String(passed(t)), C.W / 2, 50); g.fillText(String(passed(t)), C.W / 2, 50);
  g.font = '13px sans-serif'; g.textAlign = 'left'; g.lineWidth = 3;
  lines.forEach((s, i) => { g.strokeText(s, 6, C.ground + 16 + 15 * i);
                            g.fillText(s, 6, C.ground + 16 + 15 * i); });
}
"""

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; font-family: sans-serif; font-size: 14px; }}
#bar {{ display: flex; gap: 6px; align-items: center; margin: 4px 0; flex-wrap: wrap; }}
button, select {{ font-size: 13px; padding: 2px 8px; }}
canvas {{ border: 1px solid #888; display: block; outline: none; }}
</style></head><body>
{body}
<script>
const CONSTS = {consts};
const DIFF = {diff};
{common}
{script}
</script></body></html>"""


def replay_html(replay: dict, difficulty: dict, consts: dict, label: str) -> str:
    """A canvas that replays a recorded flight (``replay``: heights per frame, flap frames,
    the pipes' bases and phases; see :func:`unsup.envs.flappy.play`) at the game's 30 frames a
    second, with play/pause, speed and restart: the whole flight is in the page, played by the
    browser."""
    body = ('<div id="bar"><button id="pp">Pause</button><button id="rs">Restart</button>'
            '<label>speed <select id="sp"><option value="1">1×</option>'
            '<option value="2" selected>2×</option><option value="4">4×</option>'
            '<option value="8">8×</option></select></label><span id="st"></span></div>'
            '<canvas id="cv" data-testid="flappy-replay"></canvas>')
    script = f"""
const R = {_json(replay)};
const LABEL = {_json(label)};
const flaps = new Set(R.flap);
const last = R.y.length;  // frames recorded (the flight may have gone on)
let t = 0, playing = true, acc = 0, prev = null;
const st = document.getElementById('st');
function frame(now) {{
  if (prev === null) prev = now;
  const dt = Math.min(0.25, (now - prev) / 1000); prev = now;
  if (playing) {{
    acc += dt * C.fps * Number(document.getElementById('sp').value);
    while (acc >= 1 && t < last) {{ t += 1; acc -= 1; }}
    if (t >= last) {{ acc = 0; }}
  }}
  const y = t === 0 ? C.startY : R.y[t - 1];
  const ended = t >= last;
  const lines = [LABEL, ended ? (R.crashed && R.frames <= last ? 'crashed after ' + R.pipes +
      ' pipes' : 'replay ends here; this flight went on to ' + R.pipes + ' pipes') :
      'frame ' + t + ' of ' + R.frames];
  draw(t, y, R.base, R.phase, flaps.has(t - 1), lines);
  document.body.dataset.frame = t;
  requestAnimationFrame(frame);
}}
document.getElementById('pp').onclick = () => {{ playing = !playing;
  document.getElementById('pp').textContent = playing ? 'Pause' : 'Play'; }};
document.getElementById('rs').onclick = () => {{ t = 0; acc = 0; playing = true;
  document.getElementById('pp').textContent = 'Pause'; }};
requestAnimationFrame(frame);
"""
    return _PAGE.format(body=body, consts=_json(consts), diff=_json(difficulty),
                        common=_COMMON_JS, script=script)


def play_html(difficulty: dict, consts: dict, rival: str) -> str:
    """The game, played in the browser with the same rules: space, click or tap to flap;
    ``rival`` is shown beside your score (e.g. the GA bird's held-out median)."""
    body = ('<div id="bar"><b>Space, click or tap to flap.</b> <span id="st"></span></div>'
            '<canvas id="cv" tabindex="0" data-testid="flappy-game"></canvas>')
    script = f"""
const RIVAL = {_json(rival)};
let state, best = 0, acc = 0, prev = null, want = false;
function newGame() {{
  const n = 4000, bases = [], phases = [];
  const lo = D.top_min + D.move_amp, hi = D.top_max - D.move_amp;
  for (let j = 0; j < n; j++) {{
    if (D.top_step > 0) {{
      const k = Math.round((hi - lo) / D.top_step) + 1;
      bases.push(lo + D.top_step * Math.floor(Math.random() * k));
    }} else bases.push(lo + (hi - lo) * Math.random());
    phases.push(2 * Math.PI * Math.random());
  }}
  state = {{t: 0, y: C.startY, vel: C.startVel, alive: true, started: false, bases, phases,
           wing: 0, pipes: 0}};
}}
function step() {{
  const s = state;
  let flap = want && s.y > C.flapCeiling; want = false;
  if (flap) {{ s.vel = C.flapVel; s.wing = 4; }}
  else if (s.vel < C.maxFall) s.vel += C.gravity;
  s.y += Math.min(s.vel, C.ground - C.birdH - s.y);
  s.t += 1;
  s.pipes = passed(s.t);
  const j = nextPipe(s.t), x = pipeX(j, s.t), top = gapTop(s.bases[j], s.phases[j], s.t);
  const inPipe = C.birdX + C.birdW > x;
  if (s.y + C.birdH >= C.ground - 1 || (inPipe && (s.y < top || s.y + C.birdH > top + D.gap))) {{
    s.alive = false; best = Math.max(best, s.pipes);
  }}
  if (s.wing > 0) s.wing -= 1;
}}
function press(e) {{
  if (e) e.preventDefault();
  if (!state.alive) {{ newGame(); return; }}
  state.started = true; want = true;
}}
function frame(now) {{
  if (prev === null) prev = now;
  const dt = Math.min(0.25, (now - prev) / 1000); prev = now;
  if (state.started && state.alive) {{
    acc += dt * C.fps;
    while (acc >= 1 && state.alive) {{ step(); acc -= 1; }}
  }} else acc = 0;
  const s = state;
  const lines = [!s.started ? 'press space or click to start' :
                 s.alive ? 'your pipes: ' + s.pipes : 'crashed: ' + s.pipes +
                 ' pipes. Space or click: again',
                 'your best: ' + best + ' · ' + RIVAL];
  draw(s.t, s.y, s.bases, s.phases, s.wing > 0, lines);
  document.body.dataset.pipes = s.pipes;
  document.body.dataset.alive = s.alive ? '1' : '0';
  requestAnimationFrame(frame);
}}
cv.addEventListener('mousedown', press);
cv.addEventListener('touchstart', press, {{passive: false}});
document.addEventListener('keydown', (e) => {{ if (e.code === 'Space' || e.key === ' ' ||
  e.code === 'ArrowUp') press(e); }});
newGame();
cv.focus();
requestAnimationFrame(frame);
"""
    return _PAGE.format(body=body, consts=_json(consts), diff=_json(difficulty),
                        common=_COMMON_JS, script=script)
