"""Run scale: ``EICORE_SCALE=ci|full|smoke`` and per-experiment parameter presets.

``ci`` (the default) runs every chapter on two CPU cores in minutes; ``full``
runs the papers' protocols (hours, on a GPU workstation); ``smoke`` is tiny, only to
run every code path in seconds (claims need not hold). Each experiment
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
SCALES = ("ci", "full", "smoke")

_REGISTRY: dict[str, Preset] = {}


def current_scale(name: str | None = None) -> str:
    """Resolve ``name`` (or ``EICORE_SCALE``, default ``ci``) to ``"ci"`` or ``"full"``."""
    raw = os.environ.get("EICORE_SCALE", "ci") if name is None else name
    value = str(raw).strip().lower()
    if value not in SCALES:
        src = "EICORE_SCALE" if name is None else "scale argument"
        raise ConfigurationError(
            f"unknown scale {raw!r} (from {src}); choose one of {', '.join(SCALES)}, "
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
    """The ``ci`` and ``full`` parameter sets of one experiment, and ``smoke`` changes.

    Both sets must have the same keys, so a chapter never depends on a
    parameter that exists at one scale only. ``smoke`` lists the values that differ
    from ``ci`` at the ``smoke`` scale (sizes and lengths small enough to run every
    code path in seconds); ``None`` means the ``ci`` values are already that small.
    """

    name: str
    ci: Mapping[str, Any]
    full: Mapping[str, Any]
    doc: str = ""
    smoke: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if set(self.ci) != set(self.full):
            diff = sorted(set(self.ci) ^ set(self.full))
            raise ConfigurationError(
                f"preset {self.name!r}: ci and full must define the same keys; differ in {diff}"
            )
        if "scale" in self.ci:
            raise ConfigurationError(f"preset {self.name!r}: 'scale' is a reserved key")
        extra = set(self.smoke or {}) - set(self.ci)
        if extra:
            raise ConfigurationError(
                f"preset {self.name!r}: smoke values for unknown keys {sorted(extra)}")
        object.__setattr__(self, "smoke", MappingProxyType(dict(self.smoke or {})))
        object.__setattr__(self, "ci", MappingProxyType(dict(self.ci)))
        object.__setattr__(self, "full", MappingProxyType(dict(self.full)))
        _REGISTRY[self.name] = self

    def get(self, scale: str | None = None, **overrides: Any) -> Params:
        """Parameters at ``scale`` (default: ``EICORE_SCALE``), with optional overrides."""
        s = current_scale(scale)
        values = dict(self.full if s == "full" else self.ci)
        if s == "smoke":
            values.update(self.smoke)
        p = Params(**values, scale=s)
        return p.replace(**overrides) if overrides else p

    def table(self) -> str:
        """A plain-text table of both presets, for printing in a chapter."""
        keys = list(self.ci)
        w = max([len(k) for k in keys] + [9])
        lines = [f"{'parameter':<{w}}  {'ci':>12}  {'full':>12}"]
        lines += [f"{k:<{w}}  {self.ci[k]!s:>12}  {self.full[k]!s:>12}" for k in keys]
        return "\n".join(lines)


def registry() -> Mapping[str, Preset]:
    """All presets defined so far, by name."""
    return MappingProxyType(_REGISTRY)
