"""What the browser test relies on in the book's configuration (runs with the unit tests)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import yaml

BOOK = Path(__file__).resolve().parents[2] / "book"


def _config(name: str) -> dict:
    return yaml.safe_load((BOOK / name).read_text())


def test_default_build_executes_nothing_and_full_scale_forces_execution():
    assert _config("_config.yml")["execute"]["execute_notebooks"] == "off"
    assert _config("_config.full.yml")["execute"]["execute_notebooks"] == "force"


def test_full_scale_config_is_the_default_one_but_for_execution():
    base, full = _config("_config.yml"), _config("_config.full.yml")
    for c in (base, full):
        c.pop("execute"), c.pop("title")
    assert base == full


def test_mathjax_is_served_from_the_book():
    cfg = _config("_config.yml")["sphinx"]["config"]
    assert cfg["mathjax_path"] == "mathjax/tex-chtml.js"
    with tarfile.open(BOOK / "_static" / "mathjax-3.2.2-es5.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"./tex-chtml.js", "./input/tex/extensions/ams.js",
            "./output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff"} <= names


def test_no_javascript_under_static():
    """Jupyter Book adds every .js file under _static to every page."""
    assert not list((BOOK / "_static").rglob("*.js"))


def test_api_reference_is_in_the_toc():
    toc = (BOOK / "_toc.yml").read_text()
    for page in ("index", "core", "assemblies", "dendritic", "disinhibition", "runs"):
        assert f"api/{page}" in toc
        assert (BOOK / "api" / f"{page}.md").is_file()
