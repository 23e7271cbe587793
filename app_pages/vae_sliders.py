"""VAE latent sliders: drag a latent dimension, watch the decoded digit change."""

import streamlit as st

from unsup.data import uploads
from unsup.ui import training
from unsup.ui import vae as ui
from unsup.ui.text import md
from unsup.viz import plots
from unsup.viz.images import labelled_row, to_pil

st.title("VAE latent sliders")
st.caption("An autoencoder squeezes each digit into a few numbers, the code *z*, and draws it "
           "back. A VAE makes the code a distribution, q(z|x) = N(μ, σ²), pulled towards N(0, I) by "
           "the KL term of the ELBO, E[log p(x|z)] − KL[q(z|x) ‖ p(z)], so every point of the "
           "latent space decodes to a plausible digit. Move the sliders and see.")

entries = ui.entries()
if not entries:
    st.error("No VAE checkpoints found. Rebuild them with `python -m unsup train vae-mnist-16d`.")
    st.stop()
with st.sidebar:
    entry = ui.pick_entry("Model", entries, "vae_model", default="vae-mnist-16d",
                          kinds=(ui.KIND,))
    st.caption(md(entry.card.get("description")
                  or f"Trained {entry.card.get('step', '?')} steps."))
    with st.expander("Open a checkpoint file"):
        up = st.file_uploader("unsup .safetensors file", key="ckpt_upload", max_upload_size=200,
                              help="A checkpoint saved by unsup, up to 200 MB. Pickles are "
                                   "refused: they can run code.")
        if up is not None:
            ui.import_checkpoint(up)

model = ui.model_of(entry)
if model is None:
    st.stop()
stats = ui.latent_stats(str(entry.path), entry.mtime)
tag = entry.name
section = st.segmented_control("Section", ["Sliders", "Encode", "Interpolate", "Denoise",
                                           "Numbers", "Train"], default="Sliders",
                               key="vae_section", label_visibility="collapsed") or "Sliders"
grey, xbin, labels = ui.test_split(model.config.image_size, model.config.n_channels)

if section == "Sliders":
    if not model.config.variational:
        st.info("This is a plain autoencoder: its codes are not pulled towards N(0, I), so "
                "slider values far from the codes of real digits decode to smudges. Compare it "
                "with a VAE.")

    @st.fragment
    def slider_panel() -> None:
        """The sliders and their image: a slider move reruns only this panel, not the page
        (issue 21, part 15: the time from a move to the new image in the browser)."""
        left, right = st.columns([3, 2] if model.config.n_latent > 2 else [2, 3])
        with left:
            z = ui.sliders(tag, model, stats)
        with right:
            img = ui.decode_one(model, z)
            if model.config.n_latent == 2:
                manifold, extent = ui.manifold(str(entry.path), entry.mtime)
                codes = ui.test_codes(str(entry.path), entry.mtime)
                st.plotly_chart(plots.manifold_figure(manifold, extent, codes, labels,
                                                      marker=(float(z[0]), float(z[1]))),
                                key="manifold")
                st.caption("The decoder's output over a grid of Gaussian quantiles (5%…95%), "
                           "with the 500 test digits' codes on top. The ✕ is the sliders' code.")
            st.image(to_pil(img, scale=8), caption="decoded from the sliders' code", width=224,
                     output_format="PNG")

    slider_panel()

elif section == "Encode":
    src = st.radio("Image", ["Test digit", "Upload", "Draw"], horizontal=True, key="enc_src")
    x = None
    if src == "Test digit":
        i = st.slider("Test digit #", 1, len(labels), 1, key="enc_idx") - 1  # shown 1-based
        x = xbin[i]
    elif src == "Upload":
        files = st.file_uploader("An image of a digit (PNG, JPEG, …) or a ZIP of them",
                                 accept_multiple_files=True, key="enc_upload",
                                 max_upload_size=uploads.UPLOAD_MB, help=uploads.LIMIT_TEXT)
        if files:
            x, problems = ui.image_from_upload(files, model.config.image_size)
            for p in problems:
                st.warning(md(p))
    else:
        from unsup.ui.draw import draw_pad  # registers the component only when used

        png = draw_pad("enc_draw")
        if png:
            x, problems = ui.image_from_upload([ui.NamedBytes("drawing.png", png)],
                                               model.config.image_size)
    if x is not None:
        z = ui.encode_one(model, x)
        recon = ui.decode_one(model, z)
        st.image(labelled_row([x, recon], ["original", "reconstruction"], scale=6),
                 output_format="PNG")
        st.write("Code μ(x):", " ".join(f"{v:+.2f}" for v in z))
        st.button("Use this code for the sliders", on_click=ui.set_code,
                  args=(tag, z, stats["lo"], stats["hi"]),
                  icon=":material/tune:")

elif section == "Interpolate":
    c1, c2, c3 = st.columns(3)
    a = c1.number_input("From test digit #", 1, len(labels), 1, key="int_a") - 1  # 1-based
    b = c2.number_input("To test digit #", 1, len(labels), 8, key="int_b") - 1
    n = c3.slider("Steps", 5, 16, 10, key="int_n")
    for mode in ("linear", "spherical"):
        st.image(ui.interpolation_strip(model, xbin[a], xbin[b], n, mode),
                 caption=f"{mode} interpolation of the codes", output_format="PNG")

elif section == "Denoise":
    level = st.slider("Noise level σ", 0.0, 1.0, 0.5, 0.05, key="dn_level")
    i = st.slider("Test digit #", 1, len(labels), 4, key="dn_idx") - 1
    pair = ui.denoise_models()
    if pair:
        st.image(ui.denoise_row(pair, xbin[i], level), output_format="PNG")
        st.caption("x'' = clip(x + σ·ε, 0, 1). The autoencoder never saw noise; the denoising "
                   "autoencoder was trained to map x'' back to x (noise up to σ = 0.6).")
    else:
        st.info("The shipped autoencoder and denoising autoencoder are missing.")

elif section == "Numbers":
    m = stats["metrics"]
    ui.job_status("vae")
    if not ui.measured(m, model.config.variational):
        # a run stopped before it was measured: measured on request in the background, into
        # its card, never on the page's thread (issue 21, part 14)
        st.info(f"{md(entry.title)} is {ui.NOT_MEASURED}: it was stopped before its held-out "
                "numbers were recorded. Measure it in the background; the numbers are written "
                "into its card and shown here when done.")
        ui.measure_controls("vae", [entry], what="held-out numbers")
        if model.config.variational:
            st.plotly_chart(plots.kl_bars(stats["kl"], activity=stats["activity"]),
                            key="kl_bars")
            st.caption("KL per latent of the MNIST test codes (closed form at each image's "
                       "posterior, one encoder pass).")
    elif not model.config.variational:
        st.metric("Test reconstruction (nats)", f"{m.get('test_recon_nats', float('nan')):.2f}")
    else:
        cols = st.columns(5)
        for col, (label, value, why) in zip(cols, plots.metric_table_rows(m)):
            col.metric(md(label), value, help=md(why))
        st.plotly_chart(plots.kl_bars(stats["kl"], activity=stats["activity"]), key="kl_bars")
        st.caption(f"On {md(m.get('heldout') or 'the MNIST test split')} ({md(m.get('n_test'))} "
                   "images, binarized at 0.5 for the built-in digits). "
                   f"IWAE: importance-weighted bound with k = {md(m.get('iwae_k', '?'))} samples.")

else:  # Train
    training.keep("tr_src", "tr_latent", "tr_beta", "tr_epochs", "resume_epochs")
    if not training.job_panel("vae"):
        ui.training_form(entry)
