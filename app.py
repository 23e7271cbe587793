"""unsup: entry point. Navigation over every page of the lab, and the home page."""

from pathlib import Path

import streamlit as st

from unsup import serve
from unsup.ui import home, training
from unsup.ui.registry import all_pages

serve.start_warm_up()  # once per process: imports and home thumbnails, off the page's thread

st.set_page_config(page_title="unsup — latent-space lab", page_icon=":material/science:",
                   layout="wide")

infos = all_pages()
pages = {
    info.key: (st.Page(info.file, title=info.title, icon=info.icon, url_path=info.key)
               if info.ready else
               st.Page(home.coming_page(info), title=f"{info.title} (coming)", icon=info.icon,
                       url_path=info.key))
    for info in infos
}
training.PAGE_FILES.update({i.key: Path(i.file).stem for i in infos})
home_page = st.Page(lambda: home.render(pages), title="Home", icon=":material/home:", default=True)
nav = st.navigation({"": [home_page], "Lab": list(pages.values())})
training.jobs_sidebar()
nav.run()
