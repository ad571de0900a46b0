"""Registered experiments: named, figure-level protocols split into sweep points and tasks.

An :class:`Experiment` is one figure-level protocol of a paper (e.g. Fig 4B of Mikulasch et
al. 2021: two rules x 21 pair correlations x 50 seeds). It declares

* the :class:`~eicore.scale.Preset` s whose values it uses (recorded with every result,
  so that a result made with other values is reported as stale);
* its **sweep axes** (``axes(params) -> {name: values}``), whose Cartesian product are the
  **points** of the sweep;
* how points are grouped into **tasks**, the points simulated together as one batch:
  consecutive points, at most ``batch`` of them, never mixing points that differ on an
  axis named in ``separate`` (e.g. different time steps);
* ``run(task, ctx) -> dict`` that simulates one task and returns named arrays whose first
  axis runs over the task's points (``coords`` name arrays shared by all points instead,
  such as the pattern counts of a learning curve).

An experiment runs at the scales ``ci``, ``full`` and ``smoke``, and at ``reduced`` only
if its presets declare reduced values (:meth:`Experiment.has_scale`). Chapters, the
command line (``eicore run``) and Dask workers all go through the same ``run``. See the
appendix chapter *Reproducing at full scale*.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import itertools
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import ConfigurationError
from ..scale import Params, Preset, current_scale

__all__ = ["Experiment", "Task", "experiments", "get", "jsonable", "register"]

#: Modules that register the experiments of the three parts (imported on first use).
PROTOCOL_MODULES = (
    "eicore.runs.selftest",
    "eicore.assemblies.protocols",
    "eicore.dendritic.protocols",
    "eicore.disinhibition.protocols",
)

_EXPERIMENTS: dict[str, Experiment] = {}
_LOADED: set[str] = set()


def jsonable(value: Any) -> Any:
    """``value`` with tuples as lists and NumPy scalars as Python numbers (for JSON)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


@dataclass(frozen=True)
class Task:
    """The points of one experiment simulated together as one batch.

    ``points`` is a tuple of ``{axis: value}`` mappings, in sweep order; ``params`` maps
    each preset name of the experiment to its :class:`~eicore.scale.Params` at ``scale``.
    """

    experiment: str
    scale: str
    points: tuple[Mapping[str, Any], ...]
    params: Mapping[str, Params]

    @property
    def key(self) -> str:
        """A stable name of the task: a hash of experiment, scale and points."""
        blob = json.dumps([self.experiment, self.scale, jsonable(list(self.points))],
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def p(self) -> Params:
        """Parameters of the experiment's first (main) preset."""
        return next(iter(self.params.values()))

    def preset(self, preset: Preset | str) -> Params:
        """Parameters of one of the experiment's presets."""
        name = preset.name if isinstance(preset, Preset) else preset
        if name not in self.params:
            raise ConfigurationError(f"task of {self.experiment!r} has no preset {name!r}; "
                                     f"it has {sorted(self.params)}")
        return self.params[name]

    def values(self, axis: str) -> list[Any]:
        """The value of ``axis`` at every point, in order."""
        return [pt[axis] for pt in self.points]

    def __len__(self) -> int:
        return len(self.points)

    def describe(self) -> str:
        """A short text of the points, e.g. ``rule=SB,DB p_corr=0.0..0.9 seed=0..4 (50)``."""
        parts = []
        for axis in self.points[0]:
            vals = list(dict.fromkeys(pt[axis] for pt in self.points))
            parts.append(f"{axis}={_span(vals)}")
        return " ".join(parts) + f" ({len(self.points)} points)"


def _span(vals: list) -> str:
    if len(vals) <= 3:
        return ",".join(str(v) for v in vals)
    return f"{vals[0]}..{vals[-1]}[{len(vals)}]"


@dataclass(frozen=True)
class Experiment:
    """One registered, figure-level experiment (see the module docstring)."""

    name: str
    run: Callable[[Task, Any], Mapping[str, Any]]
    presets: tuple[Preset, ...]
    axes: Callable[[Params], Mapping[str, Sequence[Any]]]
    batch: int = 64
    separate: tuple[str, ...] = ()
    dims: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    coords: tuple[str, ...] = ()
    doc: str = ""
    hidden: bool = False
    sweep_keys: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self.presets:
            raise ConfigurationError(f"experiment {self.name!r} needs at least one preset")
        object.__setattr__(self, "dims", MappingProxyType(dict(self.dims)))

    @property
    def part(self) -> str:
        return self.name.split(".", 1)[0]

    def source_hash(self) -> str:
        """A hash of the source files of the experiment's part (``eicore/<part>/*.py``)."""
        return _source_hash(self.run.__module__.rsplit(".", 1)[0])

    def running_source_hash(self) -> str:
        """A hash of the modules of the experiment's part that this process has imported
        (what a running task executes), for checkpoints: editing a module the task never
        imports (an analysis used only by chapters) does not invalidate its checkpoints."""
        package = self.run.__module__.rsplit(".", 1)[0]
        return _hash_files(sorted({Path(m.__file__) for n, m in list(sys.modules.items())
                                   if (n == package or n.startswith(package + "."))
                                   and getattr(m, "__file__", None)}))

    def has_scale(self, scale: str | None = None) -> bool:
        """True if the experiment can run at ``scale``: every scale but ``reduced``, which
        needs reduced values in each of its presets (:attr:`Preset.has_reduced`). Code
        that goes through all experiments at one scale (``eicore list``, the appendix)
        skips the others."""
        s = current_scale(scale)
        return s != "reduced" or all(p.has_reduced for p in self.presets)

    def params(self, scale: str | None = None) -> dict[str, Params]:
        """Parameters of every preset at ``scale`` (default ``EICORE_SCALE``); a one-line
        :class:`~eicore.errors.ConfigurationError` if the experiment has no protocol at
        ``scale`` (see :meth:`has_scale`)."""
        s = current_scale(scale)
        if not self.has_scale(s):
            lacking = [p.name for p in self.presets if not p.has_reduced]
            have = [n for n, e in experiments().items() if e.has_scale(s)]
            raise ConfigurationError(
                f"experiment {self.name!r} has no {s} protocol (no {s} values in preset "
                f"{', '.join(map(repr, lacking))}); run it at scale 'full' or 'ci' "
                f"({s} protocols exist for: {', '.join(have) or 'no experiment yet'})")
        return {p.name: p.get(s) for p in self.presets}

    def param_values(self, scale: str | None = None) -> dict[str, Any]:
        """The preset values at ``scale`` as plain JSON data (what the store records)."""
        out = {}
        for name, prm in self.params(scale).items():
            d = prm.as_dict()
            d.pop("scale", None)
            out[name] = jsonable(d)
        return out

    def protocol_values(self, scale: str | None = None) -> dict[str, Any]:
        """:meth:`param_values` without the keys that only size the sweep.

        A result is stale when these differ: the values that say *how* a point is
        simulated. Keys that only say *which* points exist (the number of seeds, the list
        of pair correlations, ...) do not make a stored point stale, since every point
        carries its own coordinates. They are ``sweep_keys`` if given, else the main
        preset's keys named like an axis (``seed`` -> ``seeds``, ``p_corr``, ``dt`` ->
        ``dts``, ...).
        """
        values = self.param_values(scale)
        main = self.presets[0].name
        values[main] = {k: v for k, v in values[main].items() if k not in self._sweep_keys()}
        return values

    def _sweep_keys(self) -> set[str]:
        if self.sweep_keys is not None:
            return set(self.sweep_keys)
        p = self.presets[0].get("ci")
        axes = list(self.axes(p))
        return {k for k in vars(p) if k in axes or k in [a + "s" for a in axes]}

    def sweep(self, scale: str | None = None) -> dict[str, list[Any]]:
        """The sweep axes at ``scale``: ``{axis: values}``."""
        p = next(iter(self.params(scale).values()))
        return {k: list(v) for k, v in self.axes(p).items()}

    def points(self, scale: str | None = None,
               only: Mapping[str, Iterable[Any]] | None = None) -> list[dict[str, Any]]:
        """All points of the sweep (Cartesian product of the axes, first axis slowest),
        restricted to the values in ``only`` (``{axis: values}``)."""
        axes = self.sweep(scale)
        keep = select(axes, only, self.name)
        names = list(axes)
        pts = [dict(zip(names, combo)) for combo in itertools.product(*axes.values())]
        return [pt for pt in pts if all(pt[a] in keep[a] for a in keep)]

    def tasks(self, scale: str | None = None, *, batch: int | None = None,
              only: Mapping[str, Iterable[Any]] | None = None,
              points: Sequence[Mapping[str, Any]] | None = None) -> list[Task]:
        """Group the points (all, those in ``only``, or the given ``points``) into tasks
        of at most ``batch`` points (default: the experiment's), never mixing values of
        the ``separate`` axes."""
        s = current_scale(scale)
        batch = self.batch if batch is None else int(batch)
        if batch < 1:
            raise ConfigurationError(f"batch must be a positive number of points, got {batch}")
        pts = self.points(s, only) if points is None else [dict(p) for p in points]
        params = self.params(s)
        tasks: list[Task] = []
        groups: dict[tuple, list[dict]] = {}
        for pt in pts:
            groups.setdefault(tuple(jsonable(pt.get(a)) for a in self.separate), []).append(pt)
        for group in groups.values():
            for i in range(0, len(group), batch):
                chunk = tuple(MappingProxyType(pt) for pt in group[i : i + batch])
                tasks.append(Task(self.name, s, chunk, params))
        return tasks


def select(axes: Mapping[str, Sequence[Any]], only: Mapping[str, Iterable[Any]] | None,
           experiment: str = "") -> dict[str, list[Any]]:
    """Check a selection ``{axis: values}`` against the sweep axes and return it with each
    value matched to the axis' own value (so ``"0.7"`` or ``0.7`` select ``0.7``)."""
    out: dict[str, list[Any]] = {}
    for axis, wanted in (only or {}).items():
        if axis not in axes:
            raise ConfigurationError(
                f"{experiment}: unknown sweep axis {axis!r}; its axes are "
                f"{', '.join(axes) or '(none)'}")
        matched = []
        for w in wanted:
            hits = [v for v in axes[axis] if _same(v, w)]
            if not hits:
                vals = list(axes[axis])
                raise ConfigurationError(
                    f"{experiment}: {axis}={w!r} is not a point of the sweep; "
                    f"choose from {_span(vals) if len(vals) > 12 else vals}")
            matched.extend(hits)
        out[axis] = matched
    return out


def _same(value: Any, wanted: Any) -> bool:
    if value == wanted:
        return True
    if isinstance(wanted, str):
        if str(value) == wanted:
            return True
        try:
            return isinstance(value, int | float) and float(wanted) == float(value)
        except ValueError:
            return False
    return False


@functools.cache
def _source_hash(package: str) -> str:
    mod = importlib.import_module(package)
    return _hash_files(sorted(Path(mod.__file__).parent.glob("*.py")))


def _hash_files(files: Iterable[Path]) -> str:
    """A short hash of the names and contents of ``files`` (in the order given)."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def register(experiment: Experiment) -> Experiment:
    """Add ``experiment`` to the registry (a name can be registered once)."""
    old = _EXPERIMENTS.get(experiment.name)
    if old is not None and old.run is not experiment.run:
        raise ConfigurationError(f"experiment {experiment.name!r} is already registered")
    _EXPERIMENTS[experiment.name] = experiment
    return experiment


def _load(module: str) -> None:
    if module not in _LOADED:
        importlib.import_module(module)  # registers; an ImportError leaves it unloaded
        _LOADED.add(module)


def _load_all() -> None:
    for mod in PROTOCOL_MODULES:
        _load(mod)


def _module_of(name: str) -> str | None:
    """The protocol module that registers experiment ``name`` (by its part prefix)."""
    part = name.split(".", 1)[0]
    return next((m for m in PROTOCOL_MODULES if m.split(".")[1] == part), None)


def experiments(include_hidden: bool = False) -> dict[str, Experiment]:
    """Every registered experiment, by name (the three parts' modules are imported)."""
    _load_all()
    return {k: v for k, v in sorted(_EXPERIMENTS.items()) if include_hidden or not v.hidden}


def get(name: str | Experiment) -> Experiment:
    """The experiment called ``name``; a clear error lists the known names otherwise."""
    if isinstance(name, Experiment):
        return name
    if name not in _EXPERIMENTS:
        module = _module_of(str(name))
        if module is not None:
            _load(module)  # only this part's module: another part's trouble stays there
    if name not in _EXPERIMENTS:
        _load_all()
    if name not in _EXPERIMENTS:
        known = ", ".join(k for k, v in sorted(_EXPERIMENTS.items()) if not v.hidden)
        raise ConfigurationError(
            f"unknown experiment {name!r}; `eicore list` shows them: {known}")
    return _EXPERIMENTS[name]
