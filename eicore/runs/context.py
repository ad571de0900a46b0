"""What a running task gets besides its points: checkpoints and progress.

A task that runs for hours saves its whole state every ``every`` seconds and resumes from
the last save. The pattern inside an experiment's ``run(task, ctx)``::

    state = ctx.resume()                 # None on a fresh start
    if state is None:
        state = dict(sim=..., streams=..., curve=..., done=0)   # everything that changes
    bar = ctx.progress(total, "patterns", done=state["done"])
    while state["done"] < total:
        ...advance the simulation by one chunk...
        state["done"] += n; bar.update(n)
        ctx.checkpoint(state)            # saved only if `every` seconds have passed
    return results

The state is pickled whole: weights, optimiser state, every random generator (NumPy's
``Generator`` pickles its bit-generator state exactly), counters and partial learning
curves, so a resumed task continues bitwise as if it had never stopped. A checkpoint
records the hash of the source it was written by (the modules of the experiment's part
that the running process imported); one written by other code (an edited model, a changed
rule) is set aside and the task starts over, since resuming it would mix two versions of
the model in one result. The pickle is compressed (zlib, its fastest level: a Part I
network's state shrinks from 23 to 10 MB in half a second), so that a checkpoint is cheap
to copy or commit along with the store. Writes are
atomic (temporary name, then rename). Checkpoint files live in the store beside the
entries (they may be copied or committed with it, to resume the task in another checkout)
and are deleted once the task's result is stored; only files written by eicore are ever
unpickled.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

__all__ = ["Context", "Interrupted", "atomic_write_bytes", "checkpoint_info"]

_FORMAT = "eicore-checkpoint/1"


class Interrupted(Exception):  # noqa: N818  (a signal, not an error)
    """Raised by a context made with ``stop_after`` (tests of resume) or by ``budget``."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class _NoBar:
    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, *_a, **_k) -> None:
        pass

    def close(self) -> None:
        pass


class _Bar:
    """A progress bar that also reports its units to the context (for estimates)."""

    def __init__(self, ctx: Context, inner: Any, total: float, done: float):
        self.ctx, self.inner, self.total, self.n = ctx, inner, total, done

    def update(self, n: float = 1) -> None:
        self.n += n
        self.inner.update(n)
        self.ctx._units(self.n, self.total)

    def set_postfix_str(self, *a, **k) -> None:
        self.inner.set_postfix_str(*a, **k)

    def close(self) -> None:
        self.inner.close()


class Context:
    """Checkpointing and progress for one task.

    ``path``: checkpoint file (``None``: no checkpoints); ``every``: seconds between saves
    (0: at every call of :meth:`checkpoint`); ``progress``: show progress bars (tqdm);
    ``stop_after``: raise :class:`Interrupted` after that many saved checkpoints (tests);
    ``budget``: raise :class:`Interrupted` once that many seconds have passed after the
    first progress update (``eicore estimate`` uses it to time a slice of a task);
    ``store``: the :class:`~eicore.runs.Store` the task's result goes to (``None`` when
    run outside a store), for experiments that build on another experiment's results;
    ``source``: the hash of the experiment's source (the runner sets it); a checkpoint
    written under another hash is not resumed. ``label``: the task's points in words (the
    runner sets it), saved with each checkpoint for :func:`checkpoint_info`.
    ``same_code``: the rule of the run that holds the task (the runner sets it): True when
    stored results made by other source code count as missing (the chapters'
    :func:`~eicore.runs.compute`), False when they are kept (``eicore run``); an
    experiment that builds on another experiment's stored results loads them by the same
    rule.
    """

    def __init__(self, path: str | Path | None = None, *, every: float = 300.0,
                 progress: bool = False, stop_after: int | None = None,
                 budget: float | None = None, position: int = 1, store: Any = None,
                 source: str | None = None, label: str | None = None,
                 same_code: bool = False):
        self.path = Path(path) if path is not None else None
        self.every = float(every)
        self.show = progress
        self.stop_after = stop_after
        self.budget = budget
        self.position = position
        self.store = store
        self.source = source
        self.label = label
        self.same_code = bool(same_code)
        self.saves = 0
        self._last = time.monotonic()
        self.resumed = False
        # this process's start, and the (wall, CPU) seconds of the segments before a resume
        self._start = (time.perf_counter(), time.process_time())
        self.prior = (0.0, 0.0)
        # (wall time, units done, total units, CPU time) of the first and latest updates
        self.first_units: tuple[float, float, float, float] | None = None
        self.last_units: tuple[float, float, float, float] | None = None

    # ----------------------------------------------------------------- checkpoints
    def resume(self) -> Any:
        """The last checkpointed state of this task, or ``None``."""
        if self.path is None or not self.path.exists():
            return None
        try:
            saved = _load(self.path)
        except Exception:  # a checkpoint we cannot read: start over, never crash
            return None
        if not (isinstance(saved, dict) and saved.get("format") == _FORMAT):
            why = "in an older format"
        elif self.source is not None and saved.get("source") != self.source:
            why = f"by other code (source {saved.get('source')}, now {self.source})"
        else:
            self.resumed = True
            self.prior = tuple(saved.get("spent", (0.0, 0.0)))
            return saved["state"]
        print(f"eicore: checkpoint {self.path.name} was written {why}; starting the task "
              "over", file=sys.stderr)
        return None

    def checkpoint(self, state: Any, *, force: bool = False) -> bool:
        """Save ``state`` if ``every`` seconds have passed (or ``force``); True if saved."""
        if self.path is None:
            return False
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return False
        units = None if self.last_units is None else self.last_units[1:3]
        saved = dict(format=_FORMAT, source=self.source, label=self.label, units=units,
                     state=state, spent=self.spent())
        data = pickle.dumps(saved, protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write_bytes(self.path, zlib.compress(data, 1))
        self._last = now
        self.saves += 1
        if self.stop_after is not None and self.saves >= self.stop_after:
            raise Interrupted(f"stopped after {self.saves} checkpoint(s)")
        return True

    def spent(self) -> tuple[float, float]:
        """Wall-clock and CPU seconds the task has taken so far, over all its segments up to
        their last checkpoint and this process (work lost after a checkpoint not counted)."""
        return (self.prior[0] + time.perf_counter() - self._start[0],
                self.prior[1] + time.process_time() - self._start[1])

    def discard(self) -> None:
        """Delete the checkpoint (after the result is safely stored)."""
        if self.path is not None:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    # ----------------------------------------------------------------- progress
    def progress(self, total: float, desc: str, *, done: float = 0, unit: str = "it") -> Any:
        """A progress bar over ``total`` units of work (``done`` already done on resume).

        The units also time the task for ``eicore estimate``: report work as it happens.
        """
        if self.show:
            from ..progress import tqdm

            inner = tqdm(total=total, initial=done, desc=desc, unit=unit, leave=False,
                         position=self.position, dynamic_ncols=True, mininterval=1.0)
        else:
            inner = _NoBar()
        self._units(done, total)
        return _Bar(self, inner, total, done)

    def _units(self, done: float, total: float) -> None:
        now = time.monotonic()
        rec = (now, float(done), float(total), time.process_time())
        if self.first_units is None or total != self.first_units[2]:
            self.first_units = rec
        self.last_units = rec
        if (self.budget is not None and now - self.first_units[0] > self.budget
                and done > self.first_units[1]):
            raise Interrupted("time budget of the slice used up")


def checkpoint_info(path: str | os.PathLike) -> dict[str, Any] | None:
    """What a checkpoint file says about its task without resuming it: ``label`` (the
    task's points, in words), ``units`` (``(done, total)`` units of work at the save),
    ``spent`` (wall and CPU seconds over all segments so far), ``source`` (the hash of
    the code that wrote it) and ``saved`` (the file's modification time, seconds since
    the epoch). ``None`` for a file that is not an eicore checkpoint or cannot be read;
    fields a checkpoint does not record are ``None``. ``eicore status`` lists these."""
    path = Path(path)
    try:
        saved = _load(path)
        mtime = path.stat().st_mtime
    except Exception:  # unreadable or half-copied: report nothing, never crash
        return None
    if not (isinstance(saved, dict) and saved.get("format") == _FORMAT):
        return None
    units = saved.get("units")
    return dict(label=saved.get("label"), source=saved.get("source"),
                units=None if units is None else tuple(float(u) for u in units),
                spent=tuple(saved.get("spent", (0.0, 0.0))), saved=mtime)


def _load(path: Path) -> Any:
    """Unpickle a checkpoint file, compressed (zlib) or plain."""
    data = path.read_bytes()
    if data[:1] == b"\x78":  # a zlib stream; a pickle starts with its protocol, 0x80
        data = zlib.decompress(data)
    return pickle.loads(data)
