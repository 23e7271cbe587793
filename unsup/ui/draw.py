"""A small drawing pad (Streamlit custom component v2, inline JS, no build step).

The user draws with the mouse or a finger; on every stroke end the pad sends a PNG data URL of
the drawing (white ink on black, like MNIST) back to Python.
"""

from __future__ import annotations

import base64

import streamlit as st

_HTML = """
<div class="pad">
  <canvas width="224" height="224"></canvas>
  <button type="button">Clear</button>
</div>
"""

_CSS = """
.pad { display: flex; flex-direction: column; gap: 6px; align-items: flex-start; }
canvas { background: #000; border-radius: 8px; touch-action: none; cursor: crosshair;
         border: 1px solid var(--st-border-color, #ccc); }
button { font: inherit; padding: 2px 12px; border-radius: 6px; cursor: pointer;
         border: 1px solid var(--st-border-color, #ccc); background: transparent;
         color: var(--st-text-color, #333); }
"""

_JS = """
export default function(component) {
  const { setStateValue, parentElement } = component;
  const canvas = parentElement.querySelector('canvas');
  const clear = parentElement.querySelector('button');
  const ctx = canvas.getContext('2d');
  ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.lineWidth = 18; ctx.strokeStyle = '#fff';
  let drawing = false;
  const pos = (e) => { const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  canvas.onpointerdown = (e) => { drawing = true; canvas.setPointerCapture(e.pointerId);
    const [x, y] = pos(e); ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + 0.1, y); ctx.stroke(); };
  canvas.onpointermove = (e) => { if (!drawing) return; const [x, y] = pos(e); ctx.lineTo(x, y); ctx.stroke(); };
  const end = () => { if (!drawing) return; drawing = false; setStateValue('image', canvas.toDataURL('image/png')); };
  canvas.onpointerup = end; canvas.onpointerleave = end;
  clear.onclick = () => { ctx.fillStyle = '#000'; ctx.fillRect(0, 0, canvas.width, canvas.height);
    setStateValue('image', null); };
}
"""

_pad = st.components.v2.component("unsup_draw_pad", html=_HTML, css=_CSS, js=_JS)


def draw_pad(key: str = "draw_pad") -> bytes | None:
    """Show the pad; returns the drawing as PNG bytes, or None before the first stroke."""
    result = _pad(key=key, on_image_change=lambda: None)
    url = getattr(result, "image", None)
    if not url or not isinstance(url, str) or "," not in url:
        return None
    try:
        return base64.b64decode(url.split(",", 1)[1], validate=False)
    except (ValueError, TypeError):
        return None
