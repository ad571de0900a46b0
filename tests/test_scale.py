"""EICORE_SCALE and the ci/full preset mechanism."""

from __future__ import annotations

import pytest

from eicore.errors import ConfigurationError
from eicore.scale import Preset, current_scale, registry


def _preset(name="test.demo"):
    return Preset(name, ci=dict(trials=2, eta=1e-3), full=dict(trials=500, eta=1e-5), doc="demo")


def test_default_scale_is_ci(monkeypatch):
    monkeypatch.delenv("EICORE_SCALE", raising=False)
    assert current_scale() == "ci"
    p = _preset().get()
    assert (p.scale, p.trials, p.eta) == ("ci", 2, 1e-3)


def test_full_scale_from_environment(monkeypatch):
    monkeypatch.setenv("EICORE_SCALE", "FULL")
    p = _preset().get()
    assert (p.scale, p.trials) == ("full", 500)


def test_explicit_scale_and_overrides(monkeypatch):
    monkeypatch.setenv("EICORE_SCALE", "full")
    p = _preset().get("ci", trials=7)
    assert (p.scale, p.trials, p.eta) == ("ci", 7, 1e-3)
    assert p.replace(eta=0.5).eta == 0.5 and p.eta == 1e-3
    assert p.as_dict()["trials"] == 7


def test_unknown_scale_is_clear(monkeypatch):
    monkeypatch.setenv("EICORE_SCALE", "huge")
    with pytest.raises(ValueError, match=r"unknown scale 'huge'.*ci, full"):
        _preset().get()
    with pytest.raises(ConfigurationError, match="scale argument"):
        current_scale("medium")


def test_presets_must_define_the_same_keys():
    with pytest.raises(ConfigurationError, match="same keys.*'eta'"):
        Preset("test.bad", ci=dict(trials=1, eta=1.0), full=dict(trials=2))


def test_unknown_override_is_clear():
    with pytest.raises(ConfigurationError, match="unknown parameter"):
        _preset().get("ci", trails=3)


def test_registry_and_table():
    pr = _preset("test.table")
    assert registry()["test.table"] is pr
    t = pr.table()
    assert "trials" in t and "500" in t and t.splitlines()[0].split() == ["parameter", "ci", "full"]
