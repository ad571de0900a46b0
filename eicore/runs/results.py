"""The paper-scale results that come with the book (``book/results``, a :class:`Store`).

They were made with ``eicore run <experiment> --scale full --store book/results`` (or
``--scale reduced`` for the experiments whose full protocol is beyond a workstation: a
shortened paper protocol, stored under ``<experiment>/reduced/`` and never mixed with
``full``) and are committed with the book, so that a chapter can show them without recomputing: its
"At the paper's scale" section calls :func:`paper_results`, which only loads. A checkout
without them (or a store elsewhere, ``$EICORE_RESULTS``) gives ``None`` and the chapter
says that the run is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .registry import experiments, get
from .seeds import no_seed_offset
from .store import Store

__all__ = ["results_dir", "paper_results", "run_facts"]


def results_dir() -> Path:
    """The store of committed results: ``$EICORE_RESULTS``, else the checkout's
    ``book/results`` (next to the ``eicore`` package)."""
    env = os.environ.get("EICORE_RESULTS")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "book" / "results"


def paper_results(experiment: str, scale: str = "full", *,
                  only: Mapping[str, Iterable[Any]] | None = None,
                  store: Store | str | os.PathLike | None = None):
    """The stored results of ``experiment`` at ``scale`` (an :class:`xarray.Dataset`
    labelled by the sweep axes), restricted to ``only`` (e.g. ``{"dt": [3.0]}``), or
    ``None`` when none of the selected points has a valid entry. Nothing is computed.
    ``scale="reduced"`` loads the reduced runs (``ds.attrs["scale"]`` says which); they
    are never returned for ``"full"``, nor full runs for ``"reduced"``. An experiment
    without a reduced protocol raises a one-line
    :class:`~eicore.errors.ConfigurationError` at ``"reduced"``.
    The seed axis is the preset's, unshifted by ``EICORE_SEED_OFFSET``
    (:func:`~eicore.runs.seeds.no_seed_offset`): these are fixed, committed runs.

    Points without an entry are NaN; ``ds.attrs["missing"]`` counts them. Entries made with
    other preset values (stale) or damaged ones are never loaded (the test
    ``tests/test_results.py`` fails on them).
    """
    st = store if isinstance(store, Store) else Store(store or results_dir())
    exp = get(experiment)
    with no_seed_offset():  # committed runs: the preset's own seeds, whatever the offset
        status = st.status(exp, scale, points=exp.points(scale, only))
        if not status.done:
            return None
        ds = st.load(exp, scale, only=only, missing="ignore")
    ds.attrs["missing"] = len(status.missing)
    ds.attrs["done"] = len(status.done)
    return ds


def run_facts(scale: str = "full", *, store: Store | str | os.PathLike | None = None,
              names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """One row per registered experiment (or per name in ``names``): points done of the
    sweep at ``scale``, tasks, summed CPU and wall hours, the largest peak memory (MiB) of
    a task, the backends and the dates of the stored entries. For the full-scale appendix.

    Experiments that cannot run at ``scale`` (at ``"reduced"``: those without a reduced
    protocol, see :meth:`~eicore.runs.Experiment.has_scale`) have no row, whether listed
    in ``names`` or not."""
    st = store if isinstance(store, Store) else Store(store or results_dir())
    rows = []
    for name in names or experiments():
        exp = get(name)
        if not exp.has_scale(scale):
            continue
        status = st.status(exp, scale)
        metas = [e.meta for e in status.entries]
        rows.append(dict(
            experiment=name,
            points=len(exp.points(scale)),
            done=len(status.done),
            entries=len(metas),
            cpu_hours=sum(m.get("cpu_seconds", 0.0) for m in metas) / 3600.0,
            wall_hours=sum(m.get("wall_seconds", 0.0) for m in metas) / 3600.0,
            peak_mib=max((m.get("peak_rss_mib", 0.0) for m in metas), default=0.0),
            backends=sorted({f"{m.get('backend')}/{m.get('device')}" for m in metas}),
            dates=sorted({str(m.get("date", ""))[:10] for m in metas}),
            stale=len(status.stale),
        ))
    return rows
