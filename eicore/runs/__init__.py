"""Paper-scale runs: registered experiments, a result store with resume, Dask sweeps.

* :mod:`.registry`: :class:`Experiment` (preset, sweep axes, tasks) and :func:`get`;
* :mod:`.context`: checkpoints and progress inside a running task;
* :mod:`.store`: :class:`Store`, one atomically written ``.npz`` + ``.json`` per task,
  with stale and corrupt entries reported, and :meth:`Store.load` (xarray);
* :mod:`.runner`: :func:`run` (in-process or on Dask) and :func:`compute` (run what is
  missing, then load), which the chapters call;
* :mod:`.results`: the paper-scale results committed with the book
  (:func:`paper_results`, :func:`run_facts`);
* :mod:`.seeds`: ``EICORE_SEED_OFFSET``, the shift of every seed axis;
* :mod:`.cli`: the ``eicore`` command line (``list``, ``estimate``, ``run``, ``status``).

See the appendix chapter *Reproducing at full scale*.
"""

from __future__ import annotations

from .context import Context, Interrupted
from .registry import Experiment, Task, experiments, get, register
from .results import paper_results, results_dir, run_facts
from .runner import RunReport, compute, execute, plan, run
from .store import Entry, Status, Store, default_root

__all__ = [
    "Context",
    "Entry",
    "Experiment",
    "Interrupted",
    "RunReport",
    "Status",
    "Store",
    "Task",
    "compute",
    "default_root",
    "execute",
    "experiments",
    "get",
    "paper_results",
    "plan",
    "register",
    "results_dir",
    "run",
    "run_facts",
]
