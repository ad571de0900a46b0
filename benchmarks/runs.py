"""Overhead of the paper-scale layer (eicore.runs): store, locks, Dask; and estimates.

Usage: ``python benchmarks/runs.py [--quick] [--out PATH] [EXPERIMENT ...]``

For each experiment (default: a few with short tasks at ``ci`` scale) it runs all its
``ci`` tasks three ways into fresh stores and reports, in seconds and as a fraction of
the tasks' own compute time:

* **serial**: ``eicore.runs.run`` in this process; overhead = wall time minus the time
  spent inside the tasks' ``run`` (planning, status scans, locks, writing entries);
* **Dask**: a ``LocalCluster`` of 2 single-threaded processes; overhead = wall time
  minus the cluster start-up minus the compute time of the busiest worker (so an uneven
  split of tasks is not counted as overhead, but everything Dask and the store add is);
  the start-up is reported separately;
* **estimate**: ``eicore estimate`` (a slice of ``--seconds`` of the first task) against
  the measured CPU time of that task (CPU time, because the machine may be shared).

Writes ``benchmarks/results/runs.json``. With ``--quick``, only the hidden self-test
experiment (tasks of about 0.6 s), to check the script.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import _common  # noqa: F401  (one BLAS thread; before NumPy)

from eicore import runs
from eicore.runs.cli import main as cli

DEFAULT = ["dendritic.fig4b_bars", "dendritic.figS3_variants", "disinhibition.alignment"]


def _serial(name: str) -> dict:
    store = runs.Store(tempfile.mkdtemp(prefix="bench-serial-"))
    t0 = time.perf_counter()
    rep = runs.run(name, "ci", store=store, progress=False)
    wall = time.perf_counter() - t0
    compute = sum(e.meta["wall_seconds"] for e in rep.written)
    t1 = time.perf_counter()
    store.load(name, "ci")
    load = time.perf_counter() - t1
    return dict(tasks=len(rep.written), wall_s=wall, compute_s=compute,
                overhead_s=wall - compute, overhead_frac=(wall - compute) / compute,
                load_s=load, entry_bytes=sum(e.meta["bytes"] for e in rep.written),
                task_s=[e.meta["wall_seconds"] for e in rep.written],
                task_cpu_s=[e.meta["cpu_seconds"] for e in rep.written])


def _dask(name: str, workers: int = 2) -> dict:
    import distributed

    store = runs.Store(tempfile.mkdtemp(prefix="bench-dask-"))
    t0 = time.perf_counter()
    env = {k: "1" for k in _common.THREAD_VARS}
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", env=env) as cluster, \
            distributed.Client(cluster) as client:
        client.wait_for_workers(workers)
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        rep = runs.run(name, "ci", store=store, client=client, progress=False)
        wall = time.perf_counter() - t1
    per_worker: dict[str, float] = {}
    for e in rep.written:
        w = e.meta["worker"]
        per_worker[w] = per_worker.get(w, 0.0) + e.meta["wall_seconds"]
    compute = sum(per_worker.values())
    busiest = max(per_worker.values())
    return dict(tasks=len(rep.written), workers=workers, startup_s=startup, wall_s=wall,
                compute_s=compute, busiest_worker_s=busiest, overhead_s=wall - busiest,
                overhead_frac=(wall - busiest) / compute, per_worker_s=per_worker)


def _estimate(name: str, seconds: float, measured: float) -> dict:
    buf = io.StringIO()
    with redirect_stdout(buf):
        cli(["estimate", name, "--scale", "ci", "--seconds", str(seconds)])
    out = buf.getvalue()
    line = next(ln for ln in out.splitlines() if "one task" in ln)
    value, unit = line.split(" CPU)")[0].rsplit("; ", 1)[1].split()
    est = float(value) * {"s": 1, "min": 60, "h": 3600}[unit]
    return dict(estimate_s=est, measured_s=measured, ratio=est / measured, slice_s=seconds,
                text=out.strip())


def _full_checks(root: Path, seconds: float) -> dict:
    """``eicore estimate`` of every full-scale task stored under ``root`` against its CPU time."""
    out = {}
    for js in sorted(root.glob("*/full/*.json")):
        meta = json.loads(js.read_text())
        pts = meta["points"]
        args = ["estimate", meta["experiment"], "--scale", "full", "--seconds", str(seconds),
                "--batch", str(len(pts))]
        for axis in pts[0]:
            args += ["--only", f"{axis}=" + ",".join(sorted({str(p[axis]) for p in pts}))]
        buf = io.StringIO()
        with redirect_stdout(buf):
            cli(args)
        line = next(ln for ln in buf.getvalue().splitlines() if "one task" in ln)
        value, unit = line.split(" CPU)")[0].rsplit("; ", 1)[1].split()
        est = float(value) * {"s": 1, "min": 60, "h": 3600}[unit]
        out[f"{meta['experiment']}/{js.stem}"] = dict(
            points=pts, estimate_cpu_s=est, measured_cpu_s=meta["cpu_seconds"],
            measured_wall_s=meta["wall_seconds"], ratio=est / meta["cpu_seconds"],
            slice_s=seconds)
        print(f"  {meta['experiment']} {js.stem}: estimate {est:.0f} CPU s, measured "
              f"{meta['cpu_seconds']:.0f} CPU s (ratio {est / meta['cpu_seconds']:.2f})",
              flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("experiments", nargs="*")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=float, default=20.0, help="estimate slice length")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "runs.json"))
    ap.add_argument("--full-from", type=Path, default=None, metavar="STORE",
                    help="also estimate every full-scale task stored there (e.g. book/results)"
                    " and compare with its measured CPU time")
    ap.add_argument("--skip-ci", action="store_true", help="only the --full-from checks")
    args = ap.parse_args()
    names = args.experiments or (["runs.selftest_slow"] if args.quick else DEFAULT)
    os.environ["EICORE_SCALE"] = "ci"
    results = {}
    for name in ([] if args.skip_ci else names):
        print(f"== {name} (ci)", flush=True)
        s = _serial(name)
        print(f"  serial: {s['tasks']} tasks, compute {s['compute_s']:.2f} s, overhead "
              f"{s['overhead_s'] * 1e3:.0f} ms = {100 * s['overhead_frac']:.2f} %; "
              f"entries {s['entry_bytes'] / 1e6:.2f} MB, load {s['load_s'] * 1e3:.0f} ms",
              flush=True)
        d = _dask(name)
        print(f"  Dask (2 processes): start-up {d['startup_s']:.1f} s; wall {d['wall_s']:.2f} s, "
              f"busiest worker {d['busiest_worker_s']:.2f} s, overhead "
              f"{d['overhead_s'] * 1e3:.0f} ms = {100 * d['overhead_frac']:.2f} % of compute",
              flush=True)
        e = _estimate(name, min(args.seconds, max(s["task_s"][0] / 4, 0.2)),
                      s["task_cpu_s"][0])
        print(f"  estimate of one task: {e['estimate_s']:.1f} CPU s vs measured "
              f"{e['measured_s']:.1f} CPU s (ratio {e['ratio']:.2f}; slice {e['slice_s']:.1f} s)",
              flush=True)
        results[name] = dict(serial=s, dask=d, estimate=e)
    full = {}
    if args.full_from is not None:
        print(f"== full-scale tasks stored in {args.full_from}", flush=True)
        full = _full_checks(args.full_from, args.seconds)
    out = dict(machine=platform.node(), cpu_count=os.cpu_count(), python=platform.python_version(),
               date=time.strftime("%Y-%m-%d %H:%M:%S"), scale="ci", results=results,
               full_estimates=full)
    if args.skip_ci and Path(args.out).exists():  # keep the ci figures of an earlier run
        old = json.loads(Path(args.out).read_text())
        out["results"] = old.get("results", {})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
