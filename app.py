"""unsup: entry point. Navigation over every page of the lab, and the home page."""

import streamlit as st

from unsup.ui import home
from unsup.ui.registry import PAGES

st.set_page_config(page_title="unsup — latent-space lab", page_icon=":material/science:", layout="wide")

pages = {
    info.key: (st.Page(info.file, title=info.title, icon=info.icon, url_path=info.key)
               if info.ready else
               st.Page(home.coming_page(info), title=f"{info.title} (coming)", icon=info.icon,
                       url_path=info.key))
    for info in PAGES
}
home_page = st.Page(lambda: home.render(pages), title="Home", icon=":material/home:", default=True)
nav = st.navigation({"": [home_page], "Lab": list(pages.values())})
nav.run()
