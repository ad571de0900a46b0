"""Running tasks: in this process, or on a Dask cluster, writing each result as it lands.

:func:`run` is what ``eicore run`` and the chapters call. It plans the tasks of the
selected points that the store does not hold yet, runs them, and writes every finished
task to the store at once, so an interruption loses only the tasks in flight (and, with
checkpoints, only the minutes since their last checkpoint). :func:`compute` runs what is
missing and returns the labelled results.
"""

from __future__ import annotations

import os
import resource
import socket
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigurationError
from ..scale import current_scale
from .context import Context
from .registry import Experiment, Task, get
from .store import Entry, Store, git_commit

__all__ = ["RunReport", "compute", "execute", "plan", "run"]


def _backend_info() -> dict[str, str]:
    from ..backend import backend_name

    name = backend_name()
    device = "device1 (emulated)" if name == "strict" else "cpu"
    if name == "cupy":
        try:
            import array_api_compat.cupy as cxp  # noqa: F401

            from ..backend import get_xp

            dev = get_xp().asarray([0.0]).device
            device = f"cuda:{dev.id}"
        except Exception:
            device = "cuda"
    return dict(backend=name, device=device)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def execute(task: Task, *, checkpoint: str | os.PathLike | None = None,
            checkpoint_every: float = 300.0, progress: bool = False,
            ctx: Context | None = None, store: Store | None = None,
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one task; return ``(arrays, info)`` with the run facts (times, backend, host).

    With ``checkpoint`` (a file), the task resumes from it and saves its state every
    ``checkpoint_every`` seconds.
    """
    exp = get(task.experiment)
    ctx = ctx or Context(checkpoint, every=checkpoint_every, progress=progress, store=store)
    if ctx.source is None:
        ctx.source = exp.running_source_hash()
    if ctx.label is None:
        ctx.label = task.describe()
    git_commit()  # the commit and source the task starts from are what its entry records
    exp.source_hash()
    t0, c0 = time.perf_counter(), time.process_time()
    result = dict(exp.run(task, ctx))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    info = dict(
        wall_seconds=round(wall + ctx.prior[0], 3),  # over every segment of a resumed task
        cpu_seconds=round(cpu + ctx.prior[1], 3),
        peak_rss_mib=round(_peak_rss_mib(), 1),
        resumed=ctx.resumed,
        worker=f"{socket.gethostname()}:{os.getpid()}",
        **_backend_info(),
    )
    return result, info


def _run_on_worker(name: str, scale: str, points: list[dict], checkpoint: str | None,
                   checkpoint_every: float, backend: str | None = None,
                   store_root: str | None = None,
                   same_code: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a Dask worker runs: rebuild the task from plain data, execute it (on the
    client's backend: a worker started without ``EICORE_BACKEND`` follows the client)."""
    if backend:
        os.environ["EICORE_BACKEND"] = backend
    exp = get(name)
    (task,) = exp.tasks(scale, batch=len(points), points=points)
    ctx = Context(checkpoint, every=checkpoint_every, store=Store(store_root) if store_root
                  else None, same_code=same_code)
    return execute(task, ctx=ctx)


@dataclass
class RunReport:
    """What :func:`run` did: tasks run and skipped, and the entries it wrote."""

    experiment: str
    scale: str
    tasks: list[Task] = field(default_factory=list)
    skipped_points: int = 0
    written: list[Entry] = field(default_factory=list)
    wall_seconds: float = 0.0
    #: Tasks that raised, with the error in one line (only with ``keep_going``).
    failed: list[tuple[Task, str]] = field(default_factory=list)
    #: Tasks another process was running, left to it (only with ``wait_held=False``).
    held: list[Task] = field(default_factory=list)

    def __str__(self) -> str:
        failed = f", {len(self.failed)} failed" if self.failed else ""
        held = f", {len(self.held)} left to other processes" if self.held else ""
        return (f"{self.experiment} [{self.scale}]: {len(self.written)} of {len(self.tasks)} "
                f"task(s) run and stored{failed}{held}, {self.skipped_points} point(s) already "
                f"in the store, {self.wall_seconds:.1f} s")


def plan(experiment: str | Experiment, scale: str | None = None, *,
         store: Store | None = None, only: Mapping[str, Iterable[Any]] | None = None,
         batch: int | None = None, same_code: bool = False) -> tuple[list[Task], int]:
    """The tasks still to run for the selected points, and how many points are done."""
    exp = get(experiment)
    s = current_scale(scale)
    store = store or Store()
    pts = exp.points(s, only)
    st = store.status(exp, s, points=pts, same_code=same_code)
    return exp.tasks(s, batch=batch, points=st.missing), len(st.done)


def run(experiment: str | Experiment, scale: str | None = None, *,
        store: Store | str | os.PathLike | None = None,
        only: Mapping[str, Iterable[Any]] | None = None, batch: int | None = None,
        workers: int = 1, scheduler: str | None = None, client: Any = None,
        checkpoint_every: float = 300.0, progress: bool | None = None,
        on_result: Callable[[Entry], None] | None = None, same_code: bool = False,
        max_tasks: int | None = None, keep_checkpoints: bool = False,
        keep_going: bool = False, wait_held: bool = True) -> RunReport:
    """Run the selected points of an experiment that the store does not hold yet.

    ``workers=1`` (and no ``scheduler``/``client``) runs the tasks in this process, one
    after the other. ``workers=N`` starts a Dask ``LocalCluster`` of N single-threaded
    worker processes; ``scheduler`` connects to a running Dask scheduler; ``client`` uses
    a given ``distributed.Client``. Every finished task is written to the store as soon as
    it is back. Progress bars default to on in a terminal, off otherwise.

    A task that raises stops the run, unless ``keep_going``: the other tasks then run on,
    and the failed ones are listed in :attr:`RunReport.failed` (their checkpoints stay, so
    that a later run resumes them from there once the cause is fixed).

    Tasks that another process holds (several runs on one store) are passed over and, once
    nothing else is left, waited for; with ``wait_held=False`` they are left to that
    process (:attr:`RunReport.held`), so that a process working through a list of
    experiments moves on to the next one instead of waiting (serial runs only).
    """
    exp = get(experiment)
    s = current_scale(scale)
    store = store if isinstance(store, Store) else Store(store)
    store.writable()
    if progress is None:
        progress = _interactive()
    tasks, done = plan(exp, s, store=store, only=only, batch=batch, same_code=same_code)
    if max_tasks is not None:
        tasks = tasks[: max(int(max_tasks), 0)]
    report = RunReport(exp.name, s, tasks=tasks, skipped_points=done)
    t0 = time.perf_counter()
    if not tasks:
        return report
    if client is None and scheduler is None and int(workers) <= 1:
        _run_serial(tasks, store, report, checkpoint_every, progress, on_result,
                    keep_checkpoints, same_code, keep_going, wait_held)
    else:
        _run_dask(tasks, store, report, checkpoint_every, progress, on_result,
                  workers=int(workers), scheduler=scheduler, client=client,
                  keep_going=keep_going, same_code=same_code)
    report.wall_seconds = time.perf_counter() - t0
    return report


def _interactive() -> bool:
    """Progress bars by the book's one switch (:func:`eicore.progress.enabled`)."""
    from ..progress import enabled

    return enabled()


def _task_bar(tasks: list[Task], progress: bool, desc: str):
    if not progress:
        return None
    from ..progress import tqdm

    return tqdm(total=len(tasks), desc=desc, unit="task", position=0, dynamic_ncols=True)


def _landed(entry: Entry, report: RunReport, on_result, bar) -> None:
    """Book a stored entry: the report, the caller's callback, the task bar."""
    report.written.append(entry)
    if on_result is not None:
        on_result(entry)
    if bar is not None:
        bar.update(1)


def _failed(task: Task, exc: BaseException, report: RunReport, keep_going: bool) -> None:
    """Book a task that raised (``keep_going``), or raise again."""
    if not keep_going or not isinstance(exc, Exception):
        raise exc
    why = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    report.failed.append((task, why))
    print(f"  failed {task.key} ({task.describe()}): {why}", file=sys.stderr, flush=True)


def _run_serial(tasks, store, report, checkpoint_every, progress, on_result,
                keep_checkpoints=False, same_code=False, keep_going=False, wait_held=True):
    """Run the tasks one after another. Tasks that another process is running (several
    `eicore run` processes on one store, e.g. a job array) are passed over and taken up
    again at the end (or, without ``wait_held``, left to that process), so that each
    process works on a task nobody else holds."""
    bar = _task_bar(tasks, progress, f"{report.experiment} [{report.scale}]")
    pending = list(tasks)
    try:
        while pending:
            busy = []
            for task in pending:
                got = store.claim(task, same_code=same_code,
                                  block=wait_held and len(pending) == 1)
                if got is None:
                    busy.append(task)
                    continue
                if not got:  # another process ran it meanwhile
                    if bar is not None:
                        bar.update(1)
                    continue
                _run_claimed(task, store, report, checkpoint_every, progress, on_result,
                             keep_checkpoints, bar, keep_going, same_code)
            if busy and len(busy) == len(pending) and not wait_held:
                report.held.extend(busy)  # all held elsewhere: leave them
                break
            if busy and len(busy) == len(pending):  # all held elsewhere: wait for the first
                task, busy = busy[0], busy[1:]
                if store.claim(task, same_code=same_code):
                    _run_claimed(task, store, report, checkpoint_every, progress, on_result,
                                 keep_checkpoints, bar, keep_going, same_code)
                elif bar is not None:
                    bar.update(1)
            pending = busy
    finally:
        if bar is not None:
            bar.close()


def _run_claimed(task, store, report, checkpoint_every, progress, on_result,
                 keep_checkpoints, bar, keep_going=False, same_code=False):
    """Run a task whose lock this process holds, store it, release the lock (a task that
    raises: see :func:`_failed`)."""
    try:
        ckpt = store.checkpoint_path(task)
        ctx = Context(ckpt, every=checkpoint_every, progress=progress, store=store,
                      same_code=same_code)
        arrays, info = execute(task, ctx=ctx)
        entry = store.write(task, arrays, info)
        if keep_checkpoints and ckpt.exists():
            os.replace(ckpt, ckpt.with_suffix(".ckpt-final"))
        ctx.discard()
    except Exception as exc:
        _failed(task, exc, report, keep_going)
        return
    finally:
        store.release(task)
    _landed(entry, report, on_result, bar)


def _dask():
    try:
        import distributed
    except ImportError:
        raise ConfigurationError(
            "--workers N > 1 and --scheduler need dask.distributed: "
            "pip install 'eicore[dist]' (or use --workers 1 to run in this process)") from None
    return distributed


def _run_dask(tasks, store, report, checkpoint_every, progress, on_result, *, workers,
              scheduler, client, keep_going=False, same_code=False):
    distributed = _dask()
    own_cluster = own_client = None
    try:
        if client is None:
            if scheduler is not None:
                try:
                    if os.path.isfile(scheduler):  # dask scheduler --scheduler-file FILE
                        own_client = client = distributed.Client(scheduler_file=scheduler,
                                                                 timeout="10s")
                    else:
                        own_client = client = distributed.Client(scheduler, timeout="10s")
                except (OSError, TimeoutError) as exc:
                    raise ConfigurationError(
                        f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the "
                        "address (e.g. tcp://host:8786) and that the scheduler is running"
                    ) from None
            else:
                env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                       "MKL_NUM_THREADS": "1", "EICORE_PROGRESS": "0"}
                for k in ("EICORE_BACKEND", "EICORE_DATA", "EICORE_CACHE"):
                    if k in os.environ:
                        env[k] = os.environ[k]
                own_cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    dashboard_address=":0", env=env)
                own_client = client = distributed.Client(own_cluster)
        futures = {}
        for task in tasks:
            fut = client.submit(
                _run_on_worker, task.experiment, task.scale, [dict(p) for p in task.points],
                str(store.checkpoint_path(task)), checkpoint_every,
                os.environ.get("EICORE_BACKEND"), str(store.root), same_code,
                key=f"eicore-{task.experiment}-{task.scale}-{task.key}", pure=False, retries=2)
            futures[fut] = task
        bar = _task_bar(tasks, progress, f"{report.experiment} [{report.scale}] on Dask")
        try:
            for fut in distributed.as_completed(futures):
                task = futures[fut]
                try:
                    arrays, info = fut.result()
                except Exception as exc:
                    _failed(task, exc, report, keep_going)
                    continue
                entry = store.write(task, arrays, info)
                Context(store.checkpoint_path(task)).discard()
                _landed(entry, report, on_result, bar)
        finally:
            if bar is not None:
                bar.close()
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def compute(experiment: str | Experiment, scale: str | None = None, *,
            store: Store | str | os.PathLike | None = None,
            only: Mapping[str, Iterable[Any]] | None = None, **kwargs: Any):
    """Run whatever the store lacks of the selected points, then load them all (xarray).

    This is what the chapters call: results already in the store (e.g. made by
    ``eicore run`` or by an earlier chapter of the same source code) are reused; those
    made with other preset values or other source code of the part are recomputed.
    """
    store = store if isinstance(store, Store) else Store(store)
    kwargs.setdefault("same_code", True)
    run(experiment, scale, store=store, only=only, **kwargs)
    return store.load(experiment, scale, only=only, same_code=kwargs["same_code"])
