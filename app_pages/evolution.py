"""Evolution & AutoML: a genetic algorithm teaches Flappy Bird to fly (beside an evolution
strategy and a policy gradient), and Optuna searches the VAE's settings."""

from unsup.ui.registry import page_header
from unsup.ui.text import safe

SECTIONS = ["Flappy Bird by evolution", "Play it yourself", "AutoML: a model search", "Train"]
section = page_header(
    "Evolution & AutoML",
    safe("Two ways to learn without a gradient of what you want. A population of small "
         "networks flies Flappy Bird; the ones that pass the most pipes have children, mutated "
         "a little, and after some generations a bird flies. Then a machine searches a VAE's "
         "settings itself, training and pruning candidates on held-out digits."),
    SECTIONS, key="evo_section")

if section == "Train":
    from unsup.ui import automl, evolution

    evolution.train_form()
    automl.search_form()
elif section == "AutoML: a model search":
    from unsup.ui import automl

    automl.automl_section()
elif section == "Play it yourself":
    from unsup.ui import evolution

    evolution.play_section()
else:
    from unsup.ui import evolution

    evolution.flappy_section()
