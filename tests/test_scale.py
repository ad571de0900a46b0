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


def _reduced(name="test.reduced"):
    return Preset(name, ci=dict(trials=2, eta=1e-3, dt=1.0),
                  full=dict(trials=500, eta=1e-5, dt=0.1), reduced=dict(trials=50), doc="demo")


def test_reduced_overrides_full(monkeypatch):
    pr = _reduced()
    assert pr.has_reduced and not _preset("test.no_reduced").has_reduced
    p = pr.get("reduced")
    assert (p.scale, p.trials, p.eta, p.dt) == ("reduced", 50, 1e-5, 0.1)
    assert pr.get("reduced", eta=2.0).eta == 2.0
    monkeypatch.setenv("EICORE_SCALE", " Reduced ")
    assert current_scale() == "reduced" and pr.get().trials == 50
    assert current_scale("reduced") == "reduced"
    assert pr.get("full").trials == 500 and pr.get("ci").trials == 2  # the others unchanged
    with pytest.raises(ConfigurationError, match=r"unknown scale 'huge'.*reduced or smoke"):
        current_scale("huge")


def test_reduced_values_for_unknown_keys_are_an_error():
    with pytest.raises(ConfigurationError, match=r"reduced values for unknown keys \['trails'\]"):
        Preset("test.bad_reduced", ci=dict(trials=1), full=dict(trials=2),
               reduced=dict(trails=3))


def test_a_preset_without_reduced_values_cannot_run_reduced():
    _reduced("test.has_reduced")
    with pytest.raises(ConfigurationError) as info:
        _preset("test.lacks_reduced").get("reduced")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("preset 'test.lacks_reduced' has no reduced values; run it at "
                          "scale 'full' or 'ci' (reduced protocols exist for: ")
    assert "test.has_reduced" in msg and "test.lacks_reduced" not in msg.split("(", 1)[1]
    empty = Preset("test.empty_reduced", ci=dict(a=1), full=dict(a=2), reduced={})
    assert empty.has_reduced and empty.get("reduced").a == 2  # {}: the full values


def test_table_gets_a_reduced_column_only_with_reduced_values():
    plain = _preset("test.table_plain").table().splitlines()
    assert plain[0].split() == ["parameter", "ci", "full"]
    assert plain[1].split() == ["trials", "2", "500"]
    rows = _reduced("test.table_reduced").table().splitlines()
    assert rows[0].split() == ["parameter", "ci", "full", "reduced"]
    assert rows[1].split() == ["trials", "2", "500", "50"]  # the reduced value
    assert rows[3].split() == ["dt", "1.0", "0.1", "0.1"]  # not reduced: the full value
