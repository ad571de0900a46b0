"""Run scale: ``EICORE_SCALE=ci|full|reduced|smoke`` and per-experiment parameter presets.

``ci`` (the default) runs every chapter on two CPU cores in minutes; ``full``
runs the papers' protocols (hours, on a GPU workstation); ``smoke`` is tiny, only to
run every code path in seconds (claims need not hold). ``reduced`` is a shortened
version of the paper's protocol (fewer sizes, shorter training, the paper's time
step, ...) for the few experiments whose ``full`` protocol is beyond a workstation
(hundreds of CPU hours): only presets that declare ``reduced`` values have it, and its
results are stored and labelled as ``reduced`` (``<store>/<experiment>/reduced/``),
never as ``full`` and never mixed with ``full`` ones. Each experiment
declares one :class:`Preset` holding both parameter sets; a chapter asks for
the one in force::

    TRAINING = Preset(
        "assemblies.fig1",
        ci=dict(trials=20, eta=1e-3),
        full=dict(trials=500, eta=1e-5),
        doc="Fig 1: both plasticities on",
    )
    p = TRAINING.get()          # follows EICORE_SCALE
    p.trials, p.eta

A preset with a reduced protocol lists what differs from ``full``, e.g.
``reduced=dict(trials=100)``; ``TRAINING.get("reduced")`` then has ``trials=100`` and
the ``full`` value of every other key.

See the appendix chapter *Backends and scale* (``book/appendix/backends.ipynb``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, SimpleNamespace
from typing import Any

from .errors import ConfigurationError

__all__ = ["SCALES", "Preset", "Params", "current_scale", "registry"]

#: Names accepted by ``EICORE_SCALE``.
SCALES = ("ci", "full", "reduced", "smoke")

_REGISTRY: dict[str, Preset] = {}


def current_scale(name: str | None = None) -> str:
    """Resolve ``name`` (or ``EICORE_SCALE``, default ``ci``) to ``"ci"``, ``"full"``,
    ``"reduced"`` or ``"smoke"`` (case and surrounding blanks do not matter)."""
    raw = os.environ.get("EICORE_SCALE", "ci") if name is None else name
    value = str(raw).strip().lower()
    if value not in SCALES:
        src = "EICORE_SCALE" if name is None else "scale argument"
        raise ConfigurationError(
            f"unknown scale {raw!r} (from {src}); choose one of {', '.join(SCALES[:-1])} "
            f"or {SCALES[-1]}, "
            "e.g. `export EICORE_SCALE=ci`"
        )
    return value


class Params(SimpleNamespace):
    """Read-mostly attribute bag of one preset at one scale; ``scale`` says which."""

    def replace(self, **changes: Any) -> Params:
        """A copy with some fields changed (unknown fields are an error)."""
        unknown = set(changes) - set(vars(self))
        if unknown:
            raise ConfigurationError(
                f"unknown parameter(s) {sorted(unknown)}; known: {sorted(vars(self))}"
            )
        return Params(**{**vars(self), **changes})

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class Preset:
    """The ``ci`` and ``full`` parameter sets of one experiment, and ``smoke`` and
    ``reduced`` changes.

    Both sets must have the same keys, so a chapter never depends on a
    parameter that exists at one scale only. ``smoke`` lists the values that differ
    from ``ci`` at the ``smoke`` scale (sizes and lengths small enough to run every
    code path in seconds); ``None`` means the ``ci`` values are already that small.
    ``reduced`` lists the values that differ from ``full`` at the ``reduced`` scale (a
    shortened paper protocol, see the module docstring); ``None`` (the default) means the
    preset has no reduced protocol, and asking for it is an error. An empty mapping
    means the ``full`` values (e.g. for a second preset of an experiment whose main
    preset is the one reduced).
    """

    name: str
    ci: Mapping[str, Any]
    full: Mapping[str, Any]
    doc: str = ""
    smoke: Mapping[str, Any] | None = None
    reduced: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if set(self.ci) != set(self.full):
            diff = sorted(set(self.ci) ^ set(self.full))
            raise ConfigurationError(
                f"preset {self.name!r}: ci and full must define the same keys; differ in {diff}"
            )
        if "scale" in self.ci:
            raise ConfigurationError(f"preset {self.name!r}: 'scale' is a reserved key")
        for label, changes in (("smoke", self.smoke), ("reduced", self.reduced)):
            extra = set(changes or {}) - set(self.ci)
            if extra:
                raise ConfigurationError(
                    f"preset {self.name!r}: {label} values for unknown keys {sorted(extra)}")
        object.__setattr__(self, "smoke", MappingProxyType(dict(self.smoke or {})))
        if self.reduced is not None:
            object.__setattr__(self, "reduced", MappingProxyType(dict(self.reduced)))
        object.__setattr__(self, "ci", MappingProxyType(dict(self.ci)))
        object.__setattr__(self, "full", MappingProxyType(dict(self.full)))
        _REGISTRY[self.name] = self

    @property
    def has_reduced(self) -> bool:
        """True if the preset declares ``reduced`` values (it can run at scale ``reduced``)."""
        return self.reduced is not None

    def get(self, scale: str | None = None, **overrides: Any) -> Params:
        """Parameters at ``scale`` (default: ``EICORE_SCALE``), with optional overrides.

        At scale ``reduced`` a preset without reduced values raises a
        :class:`~eicore.errors.ConfigurationError` that says which presets have them.
        """
        s = current_scale(scale)
        values = dict(self.full if s in ("full", "reduced") else self.ci)
        if s == "smoke":
            values.update(self.smoke)
        elif s == "reduced":
            if self.reduced is None:
                raise ConfigurationError(self._no_reduced())
            values.update(self.reduced)
        p = Params(**values, scale=s)
        return p.replace(**overrides) if overrides else p

    def _no_reduced(self) -> str:
        have = sorted(n for n, pr in _REGISTRY.items() if pr.has_reduced)
        return (f"preset {self.name!r} has no reduced values; run it at scale 'full' or 'ci' "
                f"(reduced protocols exist for: {', '.join(have) or 'no preset yet'})")

    def table(self) -> str:
        """A plain-text table of the ``ci`` and ``full`` values, for printing in a chapter;
        a preset with reduced values gets a third column, ``reduced`` (the value in force
        at that scale: the reduced one, or the full one where it is not changed)."""
        keys = list(self.ci)
        w = max([len(k) for k in keys] + [9])
        cols = [("ci", self.ci), ("full", self.full)]
        if self.reduced is not None:
            cols.append(("reduced", {**self.full, **self.reduced}))
        lines = [f"{'parameter':<{w}}" + "".join(f"  {c:>12}" for c, _ in cols)]
        lines += [f"{k:<{w}}" + "".join(f"  {v[k]!s:>12}" for _, v in cols) for k in keys]
        return "\n".join(lines)


def registry() -> Mapping[str, Preset]:
    """All presets defined so far, by name."""
    return MappingProxyType(_REGISTRY)
