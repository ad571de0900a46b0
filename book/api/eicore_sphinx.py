"""Sphinx extension of the book (loaded through ``sphinx.local_extensions`` in _config.yml).

* ``authoryear`` bibliography style: entries labelled and sorted by author and year, so
  the bibliography matches the author-year citations in the text ("Mackwood et al., 2021"),
  and ``author_year_round`` citations: Mackwood et al. (2021), (Mackwood et al., 2021).
* ``eicore.*`` names written as inline code in the text (```eicore.datasets.load_mnist```,
  also with a call such as ```eicore.rng(0)```) link to their entry in the API reference,
  and so do names that the page's code cells import from eicore (```train``` after
  ``from eicore.assemblies import train``).
* MathJax 3 is served from the book itself (``mathjax_path: mathjax/tex-chtml.js``), so
  pages typeset math without network access. The es5 build (npm ``mathjax@3.2.2``: TeX
  input with its extensions, CHTML output with the woff-v2 fonts, menu, assistive MathML)
  is stored as ``_static/mathjax-3.2.2-es5.tar.gz`` (Jupyter Book would load every ``.js``
  file under ``_static`` on every page) and unpacked into ``_build/html/_static/mathjax``.
* ``:mod:`.protocols``` in a docstring of ``eicore.assemblies.experiment`` means the
  sibling module ``eicore.assemblies.protocols``, as in a Python relative import (Sphinx
  would otherwise pick one of the three ``protocols`` modules and warn).
* Known problems in docstrings of modules this extension does not own are listed in
  ``KNOWN_DOCSTRING_PROBLEMS``: exactly those warnings are shown as notes instead of
  failing ``-W``, and an entry that no longer matches any warning fails the build, so it
  is removed as soon as the docstring is fixed (like a strict xfail).
* sphinx-thebe's inline configuration script (``const THEBE_JS_URL = ...``) is included
  once per page: sphinx-thebe 0.3 registers it again whenever Sphinx re-reads documents,
  and the second copy throws "Identifier 'THEBE_JS_URL' has already been declared".
"""

from __future__ import annotations

import ast
import dataclasses
import logging
import re
import sys
import tarfile
from collections import Counter
from pathlib import Path

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle as AuthorYearSorting
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging as sphinx_logging
from sphinxcontrib.bibtex import plugin as bibtex_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle


# ------------------------------------------------------------------ bibliography
def _last_names(entry) -> list[str]:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = []
    for p in people:
        last = " ".join(p.prelast_names + p.last_names)
        names.append(re.sub(r"[{}]", "", last))
    return names


class AuthorYearLabels(BaseLabelStyle):
    """``Last, 2021`` / ``Last and Other, 2021`` / ``Last et al., 2021`` (+ a, b, ...)."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = []
        for e in entries:
            names = _last_names(e) or [e.fields.get("title", e.key)[:20]]
            who = (names[0] if len(names) == 1 else
                   f"{names[0]} and {names[1]}" if len(names) == 2 else f"{names[0]} et al.")
            labels.append(f"{who}, {e.fields.get('year', 'n.d.')}")
        seen, count = Counter(), Counter(labels)
        for lab in labels:
            if count[lab] > 1:
                seen[lab] += 1
                yield lab + "abcdefghijklmnopqrstuvwxyz"[seen[lab] - 1]
            else:
                yield lab


class AuthorYearStyle(PlainStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = AuthorYearSorting


register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)


def _round() -> BracketStyle:
    return BracketStyle(left="(", right=")")


@dataclasses.dataclass
class AuthorYearRound(AuthorYearReferenceStyle):
    """{cite:t} -> Mackwood et al. (2021), {cite:p} -> (Mackwood et al., 2021)."""

    bracket_parenthetical: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_textual: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_author: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_label: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_year: BracketStyle = dataclasses.field(default_factory=_round)


bibtex_plugin.register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_round",
                              AuthorYearRound)


# ------------------------------------------------------------------ eicore.* links
_NAME = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\(.*\))?$", re.S)


def _api_targets(env) -> dict[str, tuple[str, str]]:
    py = env.get_domain("py")
    out = {name: (m.docname, m.node_id) for name, m in py.modules.items()}
    for name, o in py.objects.items():
        if not getattr(o, "aliased", False):
            out.setdefault(name, (o.docname, o.node_id))
    return out


def _imported_names(doctree) -> dict[str, str]:
    """Local name -> eicore name, from the imports in the page's code cells."""
    out: dict[str, str] = {}
    for block in doctree.findall(nodes.literal_block):
        code = "\n".join(line for line in block.astext().splitlines()
                         if not line.lstrip().startswith(("%", "!")))
        if "eicore" not in code:
            continue
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                    node.module == "eicore" or node.module.startswith("eicore.")):
                for alias in node.names:
                    out[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "eicore" and alias.asname:
                        out[alias.asname] = alias.name
    return out


def link_eicore_names(app, doctree, docname):
    if app.builder.format != "html":
        return
    targets = _api_targets(app.env)
    imported = _imported_names(doctree)
    for lit in list(doctree.findall(nodes.literal)):
        if isinstance(lit.parent, nodes.reference | nodes.title) or "xref" in lit["classes"]:
            continue
        m = _NAME.match(lit.astext().strip())
        if not m:
            continue
        head, _, rest = m.group(1).partition(".")
        full = m.group(1) if head == "eicore" else (
            imported[head] + (f".{rest}" if rest else "") if head in imported else None)
        name = full and (full if full in targets else _canonical(full))
        if not name or name not in targets:
            continue
        todoc, anchor = targets[name]
        uri = "" if todoc == docname else app.builder.get_relative_uri(docname, todoc)
        ref = nodes.reference("", "", internal=True, refuri=f"{uri}#{anchor}",
                              reftitle=name, classes=["eicore-api"])
        lit.replace_self(ref)
        ref.append(lit)


# ------------------------------------------------------------------ thebe script once
def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        # sphinx-thebe's second copy has filename '' where the first has None
        key = (getattr(js, "filename", js) or "", getattr(js, "attributes", {}).get("body"))
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    scripts[:] = kept


# ------------------------------------------------------------------ relative references
def _canonical(name: str) -> str:
    """Where a name re-exported by a package is defined: eicore.rng -> eicore.backend.rng."""
    if not name.startswith("eicore"):
        return name
    import importlib

    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return name
        mod, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if i < len(parts) and isinstance(mod, str) and isinstance(qual, str):
            return f"{mod}.{qual}"
        return name
    return name


class RelativeModuleRefs(SphinxPostTransform):
    """Resolve ``.name`` / ``..name`` like Python relative imports, before Sphinx does."""

    default_priority = 5  # before ReferencesResolver (10)

    def run(self, **kwargs):
        py = self.env.get_domain("py")
        known = set(py.objects) | set(py.modules)
        for ref in self.document.findall(addnodes.pending_xref):
            mod = ref.get("py:module") or ""
            if ref.get("refdomain") != "py":
                continue
            target = ref.get("reftarget", "")
            if target.startswith("eicore") and not ref.get("refspecific"):
                if target not in known and _canonical(target) in known:
                    ref["reftarget"] = _canonical(target)
                continue
            dots = 1 + len(target) - len(target.lstrip("."))
            name, parts = target.lstrip("."), mod.split(".")
            is_package = any(m.startswith(mod + ".") for m in py.modules)
            base = parts[:len(parts) - dots + 1] if is_package else parts[:-dots]
            full = _canonical(".".join([*base, name]))
            if base and mod.startswith("eicore") and full in known:
                ref["reftarget"] = full
                ref["refspecific"] = False


# ------------------------------------------------------------------ known problems
# (where the warning is, what it says): warnings about docstrings in modules that other
# people own. Fix the docstring, then delete its entry (the build fails until you do).
KNOWN_DOCSTRING_PROBLEMS: list[tuple[str, str]] = [
    ("docstring of eicore.dendritic.network.make_network:", "Inline literal start-string"),
]


class _KnownProblems(logging.Filter):
    def __init__(self):
        super().__init__()
        self.hits = dict.fromkeys(KNOWN_DOCSTRING_PROBLEMS, 0)

    def filter(self, record):
        where = getattr(record, "location", None) or ""
        if isinstance(where, nodes.Node):
            where = sphinx_logging.get_node_location(where) or ""
        elif isinstance(where, tuple):
            where = ":".join(str(w) for w in where if w is not None)
        where = str(where)
        try:
            text = str(record.msg % record.args) if record.args else str(record.msg)
        except (TypeError, ValueError):
            text = str(record.msg)
        for key in self.hits:
            if key[0] in where and key[1] in text:
                self.hits[key] += 1
                sys.stdout.write(f"known docstring problem (not an error): {where}: {text}\n")
                return False
        return True


_known = _KnownProblems()


def _install_known_problems(app):
    for handler in logging.getLogger(sphinx_logging.NAMESPACE).handlers:
        if isinstance(handler, sphinx_logging.WarningStreamHandler):
            handler.filters.insert(0, _known)


def _check_known_problems(app, exception):
    if exception is None and app.builder.format == "html":
        for (where, what), n in _known.hits.items():
            if n == 0:
                sphinx_logging.getLogger(__name__).warning(
                    "KNOWN_DOCSTRING_PROBLEMS entry (%r, %r) in book/api/eicore_sphinx.py "
                    "no longer occurs: delete it", where, what)


# ------------------------------------------------------------------ local MathJax
MATHJAX_TARBALL = "mathjax-3.2.2-es5.tar.gz"


def unpack_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    src = Path(app.srcdir) / "_static" / MATHJAX_TARBALL
    with tarfile.open(src) as tar:
        tar.extractall(static / "mathjax", filter="data")
    (static / MATHJAX_TARBALL).unlink(missing_ok=True)


def setup(app):
    _install_known_problems(app)
    app.add_post_transform(RelativeModuleRefs)
    app.connect("build-finished", unpack_mathjax)
    app.connect("build-finished", _check_known_problems, priority=100)
    app.connect("doctree-resolved", link_eicore_names)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
