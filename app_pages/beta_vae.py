"""β-VAE traversals: disentanglement on dSprites, seen and measured."""

import streamlit as st

from unsup.data.dsprites import HELDOUT_SIZE
from unsup.recipes.betavae import METRIC_HELDOUT, traversal
from unsup.ui import betavae as ui
from unsup.ui.text import md
from unsup.viz import betavae as viz

st.title("β-VAE traversals")
st.caption("We want a compact, meaningful representation, but also a *disentangled* one: each "
           "latent should move one factor of variation. β-VAE maximises "
           "E[log p(x|z)] − β·KL(q(z|x) ‖ p(z)); β > 1 presses q(z|x) towards the factorised "
           "prior N(0, I). β-TCVAE weights only the total correlation of the code. dSprites "
           "(737,280 sprites, five known factors) lets us measure how well it works — and "
           "Ada-GVAE shows how far a little weak supervision (pairs of images that differ in "
           "one factor) goes where the unsupervised models stall.")

items = ui.entries()
shipped = [e for e in items if e.source == "shipped"]
section = st.segmented_control("Section", ["Traversal", "Latents", "Metrics", "Train"],
                               default="Traversal", key="bv_section",
                               label_visibility="collapsed") or "Traversal"

if not items and section != "Train":
    st.info("**The β-VAE models are still training and coming soon.** They are reproduced with "
            "`python -m unsup train betavae-b1`, `betavae-b4`, `adagvae-b1` and `adatcvae-b6` "
            "or trained here in the **Train** section. Meanwhile, here is "
            "the data they learn from: pick the factors of a sprite.")
    x, what = ui.pick_image("bv_demo")
    if x is not None:
        st.image(viz.traversal_image(x.numpy()[None, :, 0], scale=4), caption=what)
    st.stop()

if section != "Train":
    with st.sidebar:
        entry = ui.pick_entry("Model", items, "bv_model", kinds=tuple(ui.KINDS))
        st.caption(md(entry.card.get("description") or f"{entry.card.get('step')} steps."))
    model = ui.model_of(entry)
    if model is None:
        st.stop()
    # the latents' KL and MI come from the card (measured when the run finished, or by
    # Measure in the background), never from an evaluation on this thread (issue 21, part 14)
    stats = ui.stored_analysis(entry)
    if stats is not None:
        labels = viz.latent_labels(stats["kl_per_dim"], stats["mi_matrix"])
        order = viz.kl_order(stats["kl_per_dim"])
    else:
        labels = [f"z{j}" for j in range(model.config.n_latent)]
        order = list(range(model.config.n_latent))
    if section in ("Traversal", "Latents"):
        ui.measure_status()
        if stats is None:
            ui.not_measured(entry)

if section == "Traversal":
    x, what = ui.pick_image("bv_trav")
    c1, c2, c3 = st.columns(3)
    n_rows = c1.slider("Latents shown (by KL)" if stats is not None else "Latents shown",
                       1, len(order), min(len(order), 10), key="bv_rows")
    n_steps = c2.slider("Columns", 3, 11, 7, step=2, key="bv_steps")
    relative = c3.toggle("Around the image's own value", False, key="bv_rel",
                         help="Off: each row sets its latent to −3…+3. On: adds −3…+3 to it.")
    if x is None:
        st.info("Upload a silhouette (PNG/JPEG) to traverse its code.")
        st.stop()
    left, right = st.columns([1, 4])
    left.image(viz.traversal_image(x.numpy()[None, :, 0], scale=2), caption=what)
    recon = model.reconstruct(x)
    err = ui.recon_error(model, x)
    left.image(viz.traversal_image(recon.numpy()[None, :, 0], scale=2),
               caption=f"reconstruction · error {err:.1f} nats (lower is better)")
    if "heart" in what or "square" in what:
        left.caption("Hearts and squares often come back as blurry discs: shape is the hardest "
                     "factor (three values, small differences in few pixels), and most models, "
                     "these included, give it no latent of its own (see Latents).")
    grid = traversal(model, x, order[:n_rows], n_steps=n_steps, relative=relative)
    right.plotly_chart(viz.traversal_figure(grid, [labels[j] for j in order[:n_rows]]),
                       key="bv_grid")
    if stats is not None:
        right.caption("Each row moves one latent (sorted by KL); a row is labelled with the "
                      "factor it shares most information with when that normalised MI is at "
                      f"least {viz.MI_FLOOR:g}, else \"no factor\". The other latents stay at "
                      "the image's code.")
    else:
        right.caption("Each row moves one latent, in index order (not measured: neither sorted "
                      "by KL nor named after a factor). The other latents stay at the image's "
                      "code.")
    st.download_button("Download as animated GIF", viz.traversal_gif(grid), "traversal.gif",
                       "image/gif", icon=":material/download:")

elif section == "Latents":
    if stats is None:
        st.stop()
    st.plotly_chart(viz.kl_bar(stats["kl_per_dim"], labels), key="bv_kl")
    st.caption("A latent with KL near 0 is unused: its posterior equals the prior whatever the "
               "image. Larger β switches more latents off.")
    st.plotly_chart(viz.mi_heatmap(stats["mi_matrix"], stats["kl_per_dim"]), key="bv_mi")
    st.caption("Mutual information between each latent (20-bin histogram of its mean) and each "
               "factor, divided by the factor's entropy: 1 = the latent determines the factor. "
               "Disentangled: one bright cell per row and per column.")

elif section == "Metrics":
    if not shipped:
        st.info("Shipped models are still training; the table shows your runs meanwhile.")
    ui.measure_status()
    table = ui.metrics_table(items)
    st.dataframe(table, hide_index=True, width="stretch", column_config=ui.column_config(),
                 placeholder="—")
    st.caption(f"Held-out dSprites images ({METRIC_HELDOUT:,}, a seeded sample of the "
               f"{HELDOUT_SIZE:,} held out from training), fixed seeds, definitions of "
               "disentanglement_lib (Locatello et al. 2019); hover a column for what it measures. "
               "Every score: higher is better. For comparison, the published BetaVAE scores on "
               "the original dSprites are 99.2% for β = 4 and 61.6% for the plain VAE (Higgins "
               "et al. 2017, their own protocol and budget); the table's numbers are this lab's, "
               "measured as above.")
    if spread_note := ui.spread_caption(items):
        st.caption(md(spread_note))
    rows = ui.sweep_rows(items)
    if len(rows) >= 2:
        st.plotly_chart(viz.sweep_figure(rows), key="bv_sweep")
        st.caption(md(ui.sweep_caption(rows)))
    else:
        st.info("The β sweep appears once two models have metrics (`python -m unsup eval`).")
    ui.measure_controls(ui.PAGE, [e for e in items if e.source != "shipped"
                                  and ui.stored_metrics(e) is None])

else:
    ui.training_form()
