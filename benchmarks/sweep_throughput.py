"""Throughput of a whole sweep run as one batch: network-steps per second.

Usage: ``python benchmarks/sweep_throughput.py [--experiment NAME] [--batches 63,1050]
[--seconds 30] [--out PATH]``

Runs the first task of a registered experiment's ``full`` sweep at several batch sizes,
through the experiment's own run function (as ``eicore estimate`` does), for a slice of
``--seconds`` each, on the active backend (``EICORE_BACKEND``). The rate is taken between
the first and the last progress report of the slice, so set-up and the first chunk
(array allocation, CuPy's kernel compilation) are left out. For the Part II bar sweep
(``dendritic.fig4b_bars``, Fig 4B: 21 pair correlations x 50 seeds per rule) one pattern is
a 100-ms presentation, ``100 / dt`` time steps of every network in the batch, so

    network-steps per second = patterns per second x batch x (100 ms / dt).

Prints a table and writes ``benchmarks/results/sweep_throughput.<backend>.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _common  # one BLAS thread (import before NumPy); sync

from eicore import backend
from eicore.runs.context import Context
from eicore.runs.estimate import time_slice, write_record
from eicore.runs.registry import get as get_experiment
from eicore.scale import current_scale


class _Recording(Context):
    """A slice's context that keeps every progress report (wall time, units done)."""

    def __init__(self, budget: float):
        super().__init__(None, budget=budget)
        self.reports: list[tuple[float, float]] = []

    def _units(self, done: float, total: float) -> None:
        # the report marks work finished on the device, not merely queued
        _common.sync(backend.get_xp())
        self.reports.append((time.monotonic(), float(done)))
        super()._units(done, total)


def measure(name: str, batch: int, seconds: float, presentation_ms: float = 100.0) -> dict:
    """One slice of the first task of ``name`` at ``batch``; patterns and network-steps/s.

    The rate is taken from the second report that added patterns to the last one: the
    first test and the first chunk (allocation, kernel compilation) are left out."""
    exp = get_experiment(name)
    task = exp.tasks(current_scale("full"), batch=batch)[0]
    ctx = _Recording(seconds)
    t0 = time.monotonic()
    sl = time_slice(exp, task, seconds, ctx=ctx)
    _common.sync(backend.get_xp())
    wall, finished, total = time.monotonic() - t0, sl.finished, sl.total
    grew = [r for r, prev in zip(ctx.reports[1:], ctx.reports) if r[1] > prev[1]]
    (tf, uf), (tl, ul) = (grew[0], grew[-1]) if len(grew) >= 2 else (ctx.reports[0], grew[-1])
    rate = (ul - uf) / max(tl - tf, 1e-9)  # patterns per second, every network at once
    dt = float(task.p.dt)
    steps = presentation_ms / dt
    return dict(batch=len(task), patterns_per_second=rate,
                network_steps_per_second=rate * len(task) * steps,
                seconds_per_network_pattern=1.0 / max(rate * len(task), 1e-12),
                task_patterns=total, task_hours=(total / max(rate, 1e-12)) / 3600.0,
                timed_seconds=wall, finished=finished, dt_ms=dt)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="dendritic.fig4b_bars")
    ap.add_argument("--batches", default="63,1050",
                    help="comma-separated batch sizes (default 63,1050)")
    ap.add_argument("--seconds", type=float, default=30.0, help="slice per batch size")
    ap.add_argument("--out", default=None, help="JSON file (default: results/"
                    "sweep_throughput.<backend>.json beside this script)")
    args = ap.parse_args(argv)
    try:
        batches = [int(b) for b in args.batches.split(",") if b.strip()]
    except ValueError:
        ap.error(f"--batches {args.batches!r}: give whole numbers separated by commas")
    if not batches or min(batches) < 1:
        ap.error("--batches: give at least one batch size of 1 or more")
    name = backend.backend_name()
    out = Path(args.out) if args.out else (
        Path(__file__).parent / "results" / f"sweep_throughput.{name}.json")
    rows = []
    print(f"{args.experiment} [full] on {name}: {args.seconds:g} s per batch size", flush=True)
    print(f"{'batch':>6} {'patterns/s':>11} {'net-steps/s':>12} {'task [h]':>9}", flush=True)
    for b in batches:
        r = measure(args.experiment, b, args.seconds)
        rows.append(r)
        print(f"{r['batch']:>6} {r['patterns_per_second']:>11.2f} "
              f"{r['network_steps_per_second']:>12.3g} {r['task_hours']:>9.2f}", flush=True)
    write_record(out, dict(experiment=args.experiment, scale="full", rows=rows,
                              slice_seconds=args.seconds))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
