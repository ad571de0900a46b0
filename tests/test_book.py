"""The book's chapters are stored executed, in order, without errors, with kernel python3.

`jupyter-book build` renders the stored outputs (``execute_notebooks: off``) and
``pytest --nbval`` re-executes them, so a chapter committed unexecuted, executed
out of order or with an error would silently render wrong or fail in CI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

BOOK = Path(__file__).resolve().parents[1] / "book"


def _toc_entries(node, out):
    if isinstance(node, dict):
        if "file" in node:
            out.append(("file", node["file"]))
        if "glob" in node:
            out.append(("glob", node["glob"]))
        for v in node.values():
            if isinstance(v, list | dict):
                _toc_entries(v, out)
    elif isinstance(node, list):
        for v in node:
            _toc_entries(v, out)
    return out


def toc_documents() -> list[Path]:
    """Every document the TOC names, with globs expanded as Jupyter Book does."""
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    docs = [BOOK / toc["root"]]
    for kind, pattern in _toc_entries(toc, []):
        if kind == "file":
            docs.append(BOOK / pattern)
        else:
            docs += sorted(p.with_suffix("") for p in BOOK.glob(pattern + ".*"))
    return docs


def toc_notebooks() -> list[Path]:
    return [d.with_suffix(".ipynb") for d in toc_documents() if d.with_suffix(".ipynb").exists()]


def test_toc_resolves():
    for d in toc_documents():
        matches = [d.with_suffix(s) for s in (".md", ".ipynb") if d.with_suffix(s).exists()]
        assert len(matches) == 1, f"TOC entry {d.relative_to(BOOK)} has {len(matches)} sources"
    assert (BOOK.parent / "_toc.yml").resolve() == (BOOK / "_toc.yml").resolve()
    assert (BOOK.parent / "_config.yml").resolve() == (BOOK / "_config.yml").resolve()


def test_every_notebook_is_in_the_toc():
    listed = {p.resolve() for p in toc_notebooks()}
    stray = [
        str(p.relative_to(BOOK))
        for p in BOOK.rglob("*.ipynb")
        if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts
        and p.resolve() not in listed
    ]
    assert stray == [], f"notebooks outside the TOC (never built or validated): {stray}"


def _outside_fences(markdown: str) -> list[str]:
    """The lines of ``markdown`` that are not inside a fenced code block."""
    lines, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def test_outside_fences():
    md = "# Title\n```bash\n# a comment\n```\ntext\n# Second"
    assert [x for x in _outside_fences(md) if x.startswith("# ")] == ["# Title", "# Second"]


@pytest.mark.parametrize(
    "path", toc_notebooks(), ids=lambda p: str(p.relative_to(BOOK))
)
def test_notebook_stored_executed(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3", "kernel must be python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert code, "a chapter notebook needs code"
    counts = [c.get("execution_count") for c in code]
    assert None not in counts, "every code cell must be executed (run the notebook top to bottom)"
    assert counts == list(range(1, len(counts) + 1)), f"cells executed out of order: {counts}"
    errors = [o for c in code for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, f"stored error output: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    heads = [
        line
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
        for line in _outside_fences("".join(c["source"]))
        if line.startswith("# ")
    ]
    assert len(heads) == 1, f"a chapter has exactly one H1 title, found {heads}"
    for c in code:  # a named figure renders its cell's outputs: exactly one of them is rich
        name = c.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name")
        rich = [o for o in c.get("outputs", []) if o["output_type"] in ("display_data",
                                                                      "execute_result")]
        assert name is None or len(rich) == 1, (
            f"figure {name!r}: {len(rich)} rich outputs (one would give a duplicate label); end "
            "the cell with a statement, e.g. `ax.legend(...);`")
