"""Translation without parallel text: Thai ↔ English listings (Conneau et al. 2018; Lample et
al. 2018)."""

from unsup.ui import translation as ui
from unsup.ui.registry import page_header
from unsup.ui.text import safe

SECTIONS = ["Word translation", "Translate a listing", "Your own text", "Train"]
section = page_header(
    "Translation without parallel text",
    safe("Two piles of property listings, one in Thai and one in English, and no listing in "
         "one is a translation of one in the other. Each language's word vectors are learnt "
         "alone; because both describe the same world, their shapes match up to a rotation, "
         "which is found without a dictionary. A translator then learns from the two piles "
         "alone, by rebuilding noisy sentences and translating its own translations back."),
    SECTIONS, key="tr_section")

if section == "Train":
    ui.training_form()
elif section == "Your own text":
    from unsup.ui import translation_own

    translation_own.own_text_section()
elif section == "Translate a listing":
    ui.translate_section()
else:
    ui.words_section()
