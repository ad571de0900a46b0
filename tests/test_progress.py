"""eicore.progress: one switch decides whether bars are drawn; off in stored outputs."""

from __future__ import annotations

import io

import pytest

from eicore import progress


@pytest.fixture(autouse=True)
def _reset(monkeypatch):
    monkeypatch.delenv("EICORE_PROGRESS", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    progress.set_enabled(None)
    yield
    progress.set_enabled(None)


def _drawn(**kw) -> str:
    buf = io.StringIO()
    for _ in progress.tqdm(range(3), file=buf, mininterval=0, **kw):
        pass
    return buf.getvalue()


@pytest.mark.parametrize("value, expected", [("0", False), ("off", False), ("1", True),
                                             ("ON", True)])
def test_environment_variable(monkeypatch, value, expected):
    monkeypatch.setenv("EICORE_PROGRESS", value)
    assert progress.enabled() is expected
    assert bool(_drawn()) is expected


def test_bad_value_is_an_error(monkeypatch):
    monkeypatch.setenv("EICORE_PROGRESS", "maybe")
    with pytest.raises(ValueError, match="EICORE_PROGRESS"):
        progress.enabled()


def test_default_is_off_without_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not progress.enabled()
    assert _drawn() == ""


def test_default_is_on_in_a_terminal(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stderr", Tty())
    assert progress.enabled()


def test_switch_beats_environment_and_explicit_disable_beats_switch(monkeypatch):
    monkeypatch.setenv("EICORE_PROGRESS", "1")
    progress.set_enabled(False)
    assert _drawn() == ""
    assert _drawn(disable=False) != ""
    progress.set_enabled(True)
    assert "3/3" in _drawn()


def test_trange_iterates_when_silent():
    progress.set_enabled(False)
    bar = progress.trange(5)
    assert list(bar) == [0, 1, 2, 3, 4]


def test_kernel_without_a_jupyter_server_draws_nothing(monkeypatch, tmp_path):
    """What jupyter-book / nbclient / nbval see: a bar leaves no output at all."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from eicore.progress import tqdm\n"
        "for _ in tqdm(range(1000), mininterval=0): pass")])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    assert nb.cells[0].outputs == []
