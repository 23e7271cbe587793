"""Text from files reaches the screen only escaped, by construction (issue 21, part 9).

A static reading of ``unsup/ui`` and ``pages``: every message, label and help text handed to
Streamlit must be a literal, an f-string whose every interpolation is ``md(...)`` or a number, or a
call to the escaping helpers (``md``, ``safe``) of ``unsup/ui/text.py``; a local name counts when
every value it is ever given in its function (or module) does. Anything else is listed as
``file:line`` and fails the test."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from unsup import paths
from unsup.ui.text import Safe, md, safe

# Streamlit calls whose text is rendered as markdown (body or label, help, captions).
MARKDOWN_CALLS = {
    "markdown", "caption", "warning", "info", "error", "success", "toast", "write", "title",
    "header", "subheader", "expander", "popover", "metric", "tabs", "button",
    "form_submit_button", "download_button", "link_button", "page_link", "checkbox", "toggle",
    "radio", "selectbox", "multiselect", "slider", "select_slider", "number_input", "text_input",
    "text_area", "date_input", "time_input", "file_uploader", "color_picker", "camera_input",
    "pills", "segmented_control", "chat_input", "audio_input", "status", "spinner",
}
TEXT_KEYWORDS = {"body", "label", "help", "captions", "caption", "text"}
HELPERS = {"md", "safe", "code", "join"}
# Calls that give a number (their result is shown as digits).
NUMERIC_CALLS = {"len", "int", "float", "round", "abs"}
NUMERIC_SPEC_ENDS = tuple("bdeEfFgGnoxX%,_")
# HTML builders in unsup/viz that escape every piece they are given with html.escape (each one is
# tested below with hostile input).
ESCAPING_HTML = {"legend_html", "document_html"}


def _names_assigned(scope: ast.AST) -> dict[str, list[ast.AST | None]]:
    """Every value each local name is given in ``scope`` (None: a parameter, a loop or with target,
    anything we do not follow)."""
    out: dict[str, list] = {}

    def add(target, value):
        if isinstance(target, ast.Name):
            out.setdefault(target.id, []).append(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                add(t, None)
        elif isinstance(target, ast.Starred):
            add(target.value, None)

    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = scope.args
        for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
            if arg is not None:
                out.setdefault(arg.arg, []).append(None)
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                add(t, node.value)
        elif isinstance(node, ast.AnnAssign):
            add(node.target, node.value)
        elif isinstance(node, ast.AugAssign):
            add(node.target, None if not isinstance(node.op, ast.Add) else node.value)
        elif isinstance(node, (ast.For, ast.comprehension)):
            add(node.target, None)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            add(node.optional_vars, None)
        elif isinstance(node, ast.NamedExpr):
            add(node.target, node.value)
    return out


def _is_caps(name: str) -> bool:
    return name.isupper() and not name.startswith("_") or name.lstrip("_").isupper()


def _constant(node: ast.AST) -> bool:
    """A constant written in the code: ``NAME``, ``module.NAME``, ``NAME[key]``, ``NAME.get(key)``
    (upper-case names are module constants by the project's convention)."""
    if isinstance(node, ast.Name):
        return _is_caps(node.id)
    if isinstance(node, ast.Attribute):
        return _is_caps(node.attr) and isinstance(node.value, (ast.Name, ast.Attribute))
    if isinstance(node, ast.Subscript):
        return _constant(node.value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "get":
        return _constant(node.func.value)
    return False


def _numeric(node: ast.AST) -> bool:
    """An expression that can only give a number: a numeric literal, ``len(...)``, ``int(...)``,
    a difference or quotient, a sum or product of numbers."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id in NUMERIC_CALLS
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _numeric(node.operand)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, (ast.Sub, ast.Div, ast.FloorDiv)):
            return True
        if isinstance(node.op, (ast.Add, ast.Mult)):
            return _numeric(node.left) and _numeric(node.right)
    return False


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


class _Checker:
    def __init__(self, tree: ast.Module):
        self.module_names = _names_assigned(tree)

    def ok(self, node, scopes, depth=0) -> bool:
        if node is None or depth > 8:
            return False
        if isinstance(node, ast.Constant):
            return isinstance(node.value, (str, int, float)) or node.value is None
        if isinstance(node, ast.JoinedStr):
            return all(self._ok_part(v, scopes, depth) for v in node.values)
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in ("md", "code") and isinstance(node.func, ast.Name):
                return True
            if name == "join" and isinstance(node.func, ast.Name):
                return bool(node.args) and self.ok(node.args[0], scopes, depth + 1)
            if name == "safe":
                return bool(node.args) and self.ok(node.args[0], scopes, depth + 1)
            if name in ESCAPING_HTML:
                return True
            if isinstance(node.func, ast.Attribute) and node.func.attr == "join":
                # "sep".join(<items>): fine when the separator and every item are.
                items = node.args[0] if node.args else None
                if isinstance(items, (ast.GeneratorExp, ast.ListComp)):
                    items = items.elt
                return self.ok(node.func.value, scopes, depth + 1) and self.ok(items, scopes,
                                                                                depth + 1)
            return False
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.ok(node.left, scopes, depth + 1) and self.ok(node.right, scopes, depth + 1)
        if isinstance(node, ast.BoolOp):
            return all(self.ok(v, scopes, depth + 1) for v in node.values)
        if isinstance(node, ast.IfExp):
            return self.ok(node.body, scopes, depth + 1) and self.ok(node.orelse, scopes, depth + 1)
        if isinstance(node, (ast.List, ast.Tuple)):
            return all(self.ok(e, scopes, depth + 1) for e in node.elts)
        if _constant(node):
            return True
        if isinstance(node, ast.Name):
            for scope in reversed(scopes):
                values = scope.get(node.id)
                if values is not None:
                    return all(self.ok(v, scopes, depth + 1) for v in values)
            return False
        return False

    def _ok_part(self, v, scopes, depth) -> bool:
        if isinstance(v, ast.Constant):
            return True
        assert isinstance(v, ast.FormattedValue)
        if v.conversion not in (-1, None):
            return False
        spec = v.format_spec
        if spec is not None:
            text = "".join(p.value for p in spec.values if isinstance(p, ast.Constant))
            if text.endswith(NUMERIC_SPEC_ENDS):
                return True
        inner = v.value
        if _numeric(inner):
            return True
        return self.ok(inner, scopes, depth + 1)


def _texts(call: ast.Call) -> list[ast.AST]:
    name = _call_name(call)
    if name == "write":
        out = list(call.args)
    elif name == "tabs":
        out = list(call.args[:1])
    elif name == "page_link":
        out = []                                   # its first argument is the page, not text
    else:
        out = list(call.args[:1])
    out += [k.value for k in call.keywords if k.arg in TEXT_KEYWORDS]
    return out


def unsafe_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    checker = _Checker(tree)
    bad: list[str] = []

    def visit(node, scopes):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            scopes = [*scopes, _names_assigned(node)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in MARKDOWN_CALLS and (node.args or node.keywords):
            for arg in _texts(node):
                if not checker.ok(arg, scopes):
                    rel = path.relative_to(paths.ROOT)
                    bad.append(f"{rel}:{arg.lineno}: {node.func.attr}({ast.unparse(arg)[:70]})")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "safe" and not (node.args and checker.ok(node.args[0], scopes)):
            bad.append(f"{path.relative_to(paths.ROOT)}:{node.lineno}: the template of safe() "
                       "must be text written in the code")
        for child in ast.iter_child_nodes(node):
            visit(child, scopes)

    visit(tree, [checker.module_names])
    return bad


def _ui_files() -> list[Path]:
    root = paths.ROOT
    return sorted([*(root / "unsup" / "ui").glob("*.py"), *(root / "app_pages").glob("*.py"),
                   *(root / "pages").glob("*.py"), root / "app.py"])


def test_every_message_label_and_help_text_is_escaped_or_a_literal():
    bad = [line for f in _ui_files() for line in unsafe_calls(f)]
    assert not bad, "text shown without the escaping helper:\n" + "\n".join(bad)


def test_the_scanner_catches_what_it_must(tmp_path):
    src = tmp_path / "x.py"
    cases = {
        "st.warning(p)": True,
        "st.caption(report.summary())": True,
        "st.markdown(f'**{name}**')": True,
        "st.markdown(f'{n!r}')": True,
        "col.error(str(exc))": True,
        "st.selectbox(label, opts)": True,
        "st.slider('x', 0, 1, help=tip)": True,
        "st.tabs([name, 'b'])": True,
        "st.expander(title)": True,
        "st.markdown('a' + name)": True,
        "st.markdown(safe(name))": True,
        "st.warning(md(p))": False,
        "st.markdown(f'**{md(name)}** at {x:.1%} of {len(y)}')": False,
        "st.markdown(safe('**{}**', name))": False,
        "st.caption('literal' if a else f'{n:,} steps')": False,
        "st.tabs(['a', 'b'])": False,
    }
    for code, flagged in cases.items():
        src.write_text(f"def f(p, name, report, exc, label, opts, tip, title, x, y, n, a):\n"
                       f"    {code}\n", encoding="utf-8")
        tree_bad = _scan_any(src)
        assert bool(tree_bad) is flagged, (code, tree_bad)
    # a local name counts only when every value it is given does
    src.write_text("def f(p):\n    m = 'a'\n    if p:\n        m = p\n    st.info(m)\n")
    assert _scan_any(src)
    src.write_text("def f(p):\n    m = 'a'\n    if p:\n        m = md(p)\n    st.info(m)\n")
    assert not _scan_any(src)


def _scan_any(path: Path) -> list[str]:
    old = paths.ROOT
    try:
        paths.ROOT = path.parent
        return unsafe_calls(path)
    finally:
        paths.ROOT = old


def test_safe_escapes_every_value_and_keeps_the_template():
    hostile = "![x](http://example.com/a.png).png"
    out = safe("**{}** is {:.1%} of {n:,}", hostile, 0.25, n=12345)
    assert isinstance(out, Safe)
    bare = re.sub(r"\\.", "", out)                 # what is left once escapes are dropped
    assert out.startswith("**") and "](" not in bare and "![" not in bare and ":" not in bare
    assert "25.0%" in out and "12,345" in out
    assert md("- a list?") == "\\- a list?" and md("2. or this") == "2\\. or this"
    assert md("www.example.com") == "www\\.example.com"   # no autolink
    assert md(out) is out                      # escaped once, never twice
    assert safe("{}", md("a_b")) == "a\\_b"


def test_the_html_builders_escape_what_they_are_given():
    from unsup.viz import topics as tv

    hostile = '<img src="http://example.com/x.png">\n\n![x](http://example.com/a.png)'
    for html in (tv.legend_html([hostile, "b"]),
                 tv.document_html([hostile, "w"], [0, -1], [hostile, "b"], lang="en")):
        assert "<img" not in html
        assert "\n" not in html          # no blank line ends the HTML block (markdown after it)
