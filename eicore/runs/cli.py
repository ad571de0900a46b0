"""The ``eicore`` command line: list, estimate, run and check registered experiments.

::

    eicore list [--scale full|reduced]
    eicore estimate dendritic.fig4b_bars --scale full [--seconds 20] [--json FILE]
    eicore run dendritic.fig4b_bars --scale full --only p_corr=0.7,0.9 --seeds 0-4 \\
        [--store DIR] [--workers N | --scheduler tcp://host:8786] [--backend numpy|cupy] \\
        [--batch N] [--checkpoint-every SECONDS]
    eicore status dendritic.fig4b_bars --scale full [--store DIR] [--verify]

``--scale reduced`` (a shortened paper protocol, stored apart from ``full``) exists only for
the experiments whose presets declare it; ``eicore list --scale reduced`` lists them.

Every bad argument ends in one line that says what to do, and a non-zero exit status
(2 for a usage error, 1 for anything else eicore refuses). ``python -m eicore`` is the same.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigurationError, EicoreError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"eicore: error: {message} (see `{self.prog} --help`)\n")


def _parse_only(items: Sequence[str] | None, seeds: str | None) -> dict[str, list[str]]:
    only: dict[str, list[str]] = {}
    for item in items or ():
        for part in item.split(";"):
            if not part.strip():
                continue
            if "=" not in part:
                raise ConfigurationError(
                    f"--only {part!r}: write AXIS=VALUE[,VALUE...], e.g. --only p_corr=0.7,0.9")
            axis, values = part.split("=", 1)
            vals = [v.strip() for v in values.split(",") if v.strip()]
            if not vals:
                raise ConfigurationError(f"--only {part!r}: no values after '='")
            only.setdefault(axis.strip(), []).extend(vals)
    if seeds is not None:
        only.setdefault("seed", []).extend(str(s) for s in _parse_range(seeds))
    return only


def _parse_range(text: str) -> list[int]:
    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part[1:]:
                a, b = part[1:].split("-", 1)
                lo, hi = int(part[0] + a), int(b)
                if hi < lo:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise ConfigurationError(
            f"--seeds {text!r}: write a range or list of integers, e.g. 0-4 or 0,2,7") from None
    return out


def _set_backend(name: str | None) -> None:
    if name is None:
        return
    from ..backend import backend_name

    os.environ["EICORE_BACKEND"] = name
    backend_name()  # raises a one-line error if e.g. cupy has no GPU here


def _store(path: str | None):
    from .store import Store

    return Store(path)


def _experiment(name: str):
    from .registry import get

    return get(name)


# --------------------------------------------------------------------------- commands
def cmd_list(args: argparse.Namespace) -> int:
    from ..scale import current_scale
    from .registry import experiments

    s = current_scale(args.scale)
    rows = []
    for name, exp in experiments(include_hidden=args.all).items():
        if not exp.has_scale(s):  # at reduced: only the experiments with a reduced protocol
            continue
        pts = exp.points(s)
        tasks = exp.tasks(s)
        axes = " x ".join(f"{a}({len(v)})" for a, v in exp.sweep(s).items())
        presets = ", ".join(p.name for p in exp.presets)
        rows.append((name, axes, len(pts), len(tasks), exp.batch, presets, exp.doc))
    if not rows:
        print(f"no experiment has a protocol at scale {s!r}" + (
            " (only presets with reduced values have one)" if s == "reduced" else ""))
        return 0
    w = max([len(r[0]) for r in rows] + [10])
    only_some = "only those with a reduced protocol; " if s == "reduced" else ""
    print(f"experiments at scale {s!r} ({only_some}points = sweep size; tasks at the default "
          "batch)")
    print(f"{'experiment':<{w}}  {'points':>6}  {'tasks':>5}  {'batch':>5}  sweep / presets")
    for name, axes, npts, ntask, batch, presets, doc in rows:
        print(f"{name:<{w}}  {npts:>6}  {ntask:>5}  {batch:>5}  {axes}")
        print(f"{'':<{w}}  {'':>6}  {'':>5}  {'':>5}  presets: {presets}")
        if doc:
            print(f"{'':<{w}}  {'':>6}  {'':>5}  {'':>5}  {doc}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from ..scale import current_scale

    exp = _experiment(args.experiment)
    s = current_scale(args.scale)
    store = _store(args.store)
    only = _parse_only(args.only, args.seeds)
    st = store.status(exp, s, points=exp.points(s, only), verify=args.verify)
    print(st.summary())
    print(f"store: {store.root / exp.name / s}")
    if st.entries:
        cpu = sum(e.meta.get("cpu_seconds", 0.0) for e in st.entries)
        print(f"done: {len(st.done)} points, {cpu / 3600:.2f} CPU hours in "
              f"{len(st.entries)} entries")
    if st.missing:
        todo = exp.tasks(s, batch=args.batch, points=st.missing)
        print(f"missing: {len(st.missing)} points = {len(todo)} task(s) at batch "
              f"{args.batch or exp.batch}")
        for t in todo[: args.show]:
            print(f"  {t.key}  {t.describe()}")
        if len(todo) > args.show:
            print(f"  ... and {len(todo) - args.show} more")
    _print_checkpoints(store, exp.name, s)
    for e in st.stale:
        print(f"stale: {e.path.name} (made with other preset values: re-run "
              f"`eicore run {exp.name} --scale {s}`; remove the old entry when done)")
    for path, why in st.corrupt:
        print(f"corrupt: {path.name}: {why}")
    for path in st.incomplete:
        print(f"incomplete: {path.name} (a data file without metadata; safe to delete)")
    return 0 if not (st.corrupt or st.stale) else 1


def _print_checkpoints(store, name: str, scale: str) -> None:
    """One line per checkpoint in the store: a task running now or interrupted, which
    ``eicore run`` resumes (if the part's code is unchanged)."""
    import time

    from .context import checkpoint_info

    for path in store.checkpoints(name, scale):
        info = checkpoint_info(path)
        if info is None:
            print(f"checkpoint: {path.name} (unreadable; the task starts over)")
            continue
        units = info["units"]
        done = (f"{units[0] / units[1]:.0%} done ({units[0]:,.0f} of {units[1]:,.0f}), "
                if units and units[1] else "")
        age = (time.time() - info["saved"]) / 60
        print(f"checkpoint: {path.stem}  {info['label'] or ''}: {done}"
              f"{info['spent'][1] / 3600:.2f} CPU hours so far, saved {age:.0f} min ago")


def cmd_run(args: argparse.Namespace) -> int:
    from ..scale import current_scale
    from .runner import plan, run

    exp = _experiment(args.experiment)
    s = current_scale(args.scale)
    only = _parse_only(args.only, args.seeds)
    exp.points(s, only)  # check the selection before starting anything
    if args.workers < 1:
        raise ConfigurationError("--workers must be at least 1")
    if args.no_wait and (args.workers > 1 or args.scheduler):
        raise ConfigurationError("--no-wait is for runs in this process; drop --workers and "
                                 "--scheduler (Dask never runs a task twice)")
    if args.workers > 1 or args.scheduler:
        from .runner import _dask

        _dask()
    _set_backend(args.backend)
    store = _store(args.store)
    store.writable()
    tasks, done = plan(exp, s, store=store, only=only, batch=args.batch)
    if args.max_tasks is not None:
        tasks = tasks[: args.max_tasks]
    where = (f"the Dask cluster at {args.scheduler}" if args.scheduler else
             f"a local Dask cluster of {args.workers} processes" if args.workers > 1
             else "this process")
    print(f"{exp.name} [{s}]: {len(tasks)} task(s) to run in {where}, {done} point(s) already "
          f"done; store {store.root}", flush=True)
    if args.dry_run:
        for t in tasks:
            print(f"  {t.key}  {t.describe()}")
        return 0
    progress = not args.no_progress and sys.stderr.isatty()
    report = run(exp, s, store=store, only=only, batch=args.batch, workers=args.workers,
                 scheduler=args.scheduler, checkpoint_every=args.checkpoint_every,
                 progress=progress, max_tasks=args.max_tasks,
                 keep_checkpoints=args.keep_checkpoints, keep_going=args.keep_going,
                 wait_held=not args.no_wait,
                 on_result=None if progress else lambda e: print(
                     f"  stored {e.path.name}: {len(e.points)} points, "
                     f"{e.meta.get('wall_seconds', 0):.1f} s", flush=True))
    print(report)
    for task, why in report.failed:
        print(f"failed: {task.key}  {task.describe()}: {why}")
    for task in report.held:
        print(f"left to another process: {task.key}  {task.describe()}")
    return 1 if report.failed else 0


def cmd_estimate(args: argparse.Namespace) -> int:
    from ..scale import current_scale
    from .estimate import time_slice, write_record
    from .runner import _peak_rss_mib

    exp = _experiment(args.experiment)
    s = current_scale(args.scale)
    only = _parse_only(args.only, args.seeds)
    target = _json_target(args.json) if args.json else None
    _set_backend(args.backend)
    tasks = exp.tasks(s, batch=args.batch, only=only)
    if not tasks:
        raise ConfigurationError(f"{exp.name}: the selection has no points")
    groups: dict[tuple, list] = {}
    for t in tasks:
        groups.setdefault(tuple(str(t.points[0].get(a)) for a in exp.separate), []).append(t)
    print(f"{exp.name} [{s}]: {len(tasks)} task(s) in {len(groups)} group(s); timing a slice "
          f"of up to {args.seconds:g} s of the first task of each group here", flush=True)
    total_wall = total_cpu = 0.0
    peak = 0.0
    rows: list[dict[str, Any]] = []
    for key, ts in groups.items():
        t = ts[0]
        rss0 = _peak_rss_mib()
        sl = time_slice(exp, t, args.seconds)
        finished, wall, per_wall, per_cpu = sl.finished, sl.wall, sl.task_wall, sl.task_cpu
        mem = max(_peak_rss_mib(), rss0)
        peak = max(peak, mem)
        n_like = sum(len(x) for x in ts) / len(t)  # tasks of this group, in units of t
        total_wall += per_wall * n_like
        total_cpu += per_cpu * n_like
        label = " ".join(f"{a}={v}" for a, v in zip(exp.separate, key)) or "all"
        how = "measured whole" if finished else f"extrapolated from {wall:.0f} s"
        print(f"  {label}: {len(ts)} task(s) of up to {len(t)} points; one task "
              f"{_hours(per_wall)} ({how}; {_hours(per_cpu)} CPU); group "
              f"{_hours(per_wall * n_like)}; peak memory {mem:.0f} MiB", flush=True)
        rows.append(dict(
            separate={a: t.points[0].get(a) for a in exp.separate},
            tasks=len(ts), points=sum(len(x) for x in ts), points_per_task=len(t),
            task_wall_seconds=per_wall, task_cpu_seconds=per_cpu,
            measured="whole" if finished else "extrapolated", timed_seconds=wall,
            group_wall_seconds=per_wall * n_like, group_cpu_seconds=per_cpu * n_like,
            peak_mib=mem,
        ))
    print(f"total: {_hours(total_wall)} on one core ({total_cpu / 3600:.3g} CPU hours) for "
          f"{len(tasks)} task(s); peak memory of one task about {peak:.0f} MiB (process RSS); "
          f"with N worker processes the wall time is about total / N")
    if target is not None:
        sel = _parse_only(args.only, None)
        write_record(target, dict(
            experiment=exp.name, scale=s,
            selection=dict(only=sel or None,
                           seeds=_parse_range(args.seeds) if args.seeds is not None else None,
                           batch=exp.batch if args.batch is None else int(args.batch)),
            groups=rows,
            total=dict(tasks=len(tasks), points=sum(len(t) for t in tasks),
                       wall_seconds=total_wall, cpu_seconds=total_cpu,
                       cpu_hours=total_cpu / 3600.0, peak_mib=peak),
            slice_seconds=args.seconds,
        ))
    return 0


def _json_target(path: str):
    """``path`` as a :class:`~pathlib.Path` that a JSON file can be written to (checked
    before any timing, so that a bad ``--json`` fails at once)."""
    from pathlib import Path

    target = Path(path).expanduser()
    if target.is_dir():
        raise ConfigurationError(f"--json {path}: is a directory; name a file, e.g. "
                                 f"{target / 'estimate.json'}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"--json {path}: cannot create its folder ({exc.strerror}); "
                                 "name a file in a writable folder") from None
    if not os.access(target.parent, os.W_OK):
        raise ConfigurationError(f"--json {path}: its folder is not writable; name a file "
                                 "in a writable folder")
    return target


def _hours(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


# --------------------------------------------------------------------------- parser
def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="eicore", description="Run the registered experiments of the book at "
                 "ci, full or reduced scale, store their results, resume, and spread sweeps "
                 "on Dask.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p, experiment=True):
        if experiment:
            p.add_argument("experiment", help="a name from `eicore list`")
        p.add_argument("--scale", default=None,
                       help="ci, full, reduced or smoke (default: $EICORE_SCALE or ci); "
                            "reduced: a shortened paper protocol, for the experiments that "
                            "have one")

    def selection(p):
        p.add_argument("--only", action="append", metavar="AXIS=V1,V2",
                       help="restrict a sweep axis to some values (repeatable)")
        p.add_argument("--seeds", metavar="RANGE", help="restrict the seed axis, e.g. 0-4")
        p.add_argument("--batch", type=int, default=None, metavar="N",
                       help="points per task (default: the experiment's)")

    p = sub.add_parser("list", help="experiments, presets, points and tasks")
    common(p, experiment=False)
    p.add_argument("--all", action="store_true", help="include hidden (test) experiments")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("estimate", help="time a slice here; print CPU hours and memory")
    common(p)
    selection(p)
    p.add_argument("--seconds", type=float, default=20.0, help="length of each timed slice")
    p.add_argument("--backend", choices=("numpy", "cupy", "strict"), default=None)
    p.add_argument("--json", default=None, metavar="PATH",
                   help="also write the estimate (per group and total, with the host) as JSON")
    p.set_defaults(func=cmd_estimate)

    p = sub.add_parser("run", help="run the missing tasks and store each as it finishes")
    common(p)
    selection(p)
    p.add_argument("--store", default=None, metavar="DIR",
                   help="result store (default: $EICORE_CACHE/results)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, default=1, metavar="N",
                   help="N > 1: a local Dask cluster of N single-threaded processes")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a running Dask scheduler: tcp://host:8786 or a scheduler file")
    p.add_argument("--backend", choices=("numpy", "cupy", "strict"), default=None,
                   help="array backend (strict: GPU emulation for tests)")
    p.add_argument("--checkpoint-every", type=float, default=300.0, metavar="SECONDS",
                   help="seconds between checkpoints of a running task (default 300)")
    p.add_argument("--max-tasks", type=int, default=None, metavar="N",
                   help="run at most N of the missing tasks")
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="keep each task's last checkpoint as <key>.ckpt-final")
    p.add_argument("--keep-going", action="store_true",
                   help="when a task fails, run the others on; list the failures at the end "
                        "(exit status 1)")
    p.add_argument("--no-wait", action="store_true",
                   help="leave tasks that another process is running to it instead of "
                        "waiting for them at the end (several processes working through "
                        "a list of experiments)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--dry-run", action="store_true", help="list the tasks, run nothing")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="done, missing, stale and corrupt tasks; "
                       "checkpoints of tasks in progress")
    common(p)
    p.add_argument("--only", action="append", metavar="AXIS=V1,V2")
    p.add_argument("--seeds", metavar="RANGE")
    p.add_argument("--batch", type=int, default=None, metavar="N")
    p.add_argument("--store", default=None, metavar="DIR")
    p.add_argument("--verify", action="store_true", help="also check every checksum")
    p.add_argument("--show", type=int, default=10, help="missing tasks to list")
    p.set_defaults(func=cmd_status)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``eicore`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EicoreError as exc:
        print(f"eicore: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("eicore: interrupted; finished tasks are stored, run the same command to resume",
              file=sys.stderr)
        return 130


def _entry() -> Any:
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:  # output piped into a reader that stopped (`| head`): quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 141  # 128 + SIGPIPE, as a shell tool would
    sys.exit(status)
