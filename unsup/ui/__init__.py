"""Streamlit building blocks shared by the pages (the only part of unsup that imports streamlit)."""
