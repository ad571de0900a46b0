"""Timing a slice of a task, and estimate records (``eicore estimate``, the benchmarks).

:func:`time_slice` runs a task for a few seconds through the experiment's own run function
and extrapolates the whole task from the progress it reported; :func:`write_record` stores
such a measurement as JSON with the host, commit, date and backend it was made on (the
appendix of the book reads them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .context import Context, Interrupted
from .registry import Experiment, Task

__all__ = ["Slice", "time_slice", "write_record"]


@dataclass(frozen=True)
class Slice:
    """What :func:`time_slice` measured.

    ``wall``/``cpu``: seconds the slice took; ``task_wall``/``task_cpu``: one whole task,
    measured (``finished``) or extrapolated from the rate of progress between the first
    and the last progress report (the CPU rate, unlike the wall rate, does not depend on
    the load of the machine); ``total``: the task's units of work; ``ctx``: the slice's
    :class:`Context`, with its progress reports."""

    finished: bool
    wall: float
    cpu: float
    task_wall: float
    task_cpu: float
    total: float
    ctx: Context


def time_slice(exp: Experiment, task: Task, seconds: float, *,
               ctx: Context | None = None) -> Slice:
    """Run ``task`` of ``exp`` for about ``seconds`` after its first progress report (or to
    the end, if sooner) and extrapolate the whole task. ``ctx``: a :class:`Context` with a
    ``budget`` (default: a plain one with ``budget=seconds``), e.g. one that records every
    report."""
    ctx = ctx if ctx is not None else Context(None, budget=seconds)
    c0, w0 = time.process_time(), time.monotonic()
    finished = True
    try:
        exp.run(task, ctx)
    except Interrupted:
        finished = False
    cpu, wall = time.process_time() - c0, time.monotonic() - w0
    total = ctx.last_units[2] if ctx.last_units is not None else 0.0
    if finished:
        return Slice(True, wall, cpu, wall, cpu, total, ctx)
    (tf, uf, total, cf), (tl, ul, _, cl) = ctx.first_units, ctx.last_units
    rate = (ul - uf) / max(tl - tf, 1e-9)  # units per wall second
    cpu_rate = (ul - uf) / max(cl - cf, 1e-9)  # units per CPU second
    task_wall = max(tf - w0, 0.0) + (total - uf) / max(rate, 1e-12)
    task_cpu = max(cf - c0, 0.0) + (total - uf) / max(cpu_rate, 1e-12)
    return Slice(False, wall, cpu, task_wall, task_cpu, total, ctx)


def write_record(target: str | Path, record: dict[str, Any]) -> None:
    """Write a measurement ``record``, with the host, version, commit, date and backend, to
    ``target`` as JSON, atomically (a temporary file, then :func:`os.replace`)."""
    import datetime as dt
    import json

    from .context import atomic_write_bytes
    from .registry import jsonable
    from .runner import _backend_info
    from .store import _version, git_commit, host_info

    record = dict(record, host=host_info(hardware=True), eicore=_version(),
                  commit=git_commit(), date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  **_backend_info())
    try:
        atomic_write_bytes(Path(target),
                           (json.dumps(jsonable(record), indent=1) + "\n").encode())
    except OSError as exc:
        raise ConfigurationError(f"cannot write {target} ({exc.strerror}); name a file in a "
                                 "writable folder") from None
