"""The result store: one entry per finished task, readable without eicore.

Layout under the store's root::

    <experiment>/<scale>/<task key>.npz     the task's arrays (NumPy's zip format)
    <experiment>/<scale>/<task key>.json    what a person (or another program) needs:
                                            experiment, scale, preset values, points and
                                            seeds, outputs with their dimensions, eicore
                                            version and git commit, backend and device,
                                            wall and CPU time, date, host, and the
                                            SHA-256 of the .npz
    <experiment>/<scale>/<task key>.ckpt    a running or interrupted task's last
                                            checkpoint (deleted when its entry is
                                            written; copy it with the folder to resume
                                            the task elsewhere)

Both files are written atomically, the ``.npz`` first and the ``.json`` last, so an entry
exists only once its data is complete; an ``.npz`` without its ``.json`` (a process killed
in between) is ignored. An entry whose ``.npz`` does not match the recorded checksum, or
whose ``.json`` cannot be read, is **corrupt**: reported, never loaded. An entry whose
preset values differ from the current preset at the entry's scale (``reduced`` entries
against the reduced values) is **stale**: reported, never mixed in
(values that only size the sweep, such as the number of seeds, are not compared: see
:meth:`~eicore.runs.Experiment.protocol_values`).

The default root is ``$EICORE_CACHE/results`` (``~/.cache/eicore/results``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import io
import json
import os
import platform
import socket
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backend import host
from ..errors import ConfigurationError, CorruptDataError, EicoreError
from .context import atomic_write_bytes
from .registry import Experiment, Task, get, jsonable

__all__ = ["Entry", "Status", "Store", "default_root", "git_commit", "host_info"]

FORMAT = 1


def default_root() -> Path:
    """``$EICORE_CACHE/results``, or ``~/.cache/eicore/results``."""
    root = os.environ.get("EICORE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "eicore")
    return Path(root) / "results"


@functools.cache
def git_commit() -> str:
    """The git commit of the eicore source tree (``+dirty`` with local changes), or
    ``unknown`` outside a git checkout. Cached: the first call in a process (the runner
    makes it when the first task starts) names the code that process runs."""
    here = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except Exception:
        return "unknown"


def host_info(*, hardware: bool = False) -> dict[str, Any]:
    """The host facts every entry records: ``host`` (name), ``python`` and ``numpy``
    versions; with ``hardware``, also ``platform``, ``machine``, ``cpu`` (the model, from
    ``/proc/cpuinfo`` where there is one) and ``cpus`` (logical cores), for estimates."""
    info: dict[str, Any] = dict(host=socket.gethostname(), python=platform.python_version(),
                                numpy=host.__version__)
    if hardware:
        info.update(platform=platform.platform(), machine=platform.machine(),
                    cpu=_cpu_model(), cpus=os.cpu_count())
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Entry:
    """One stored task: its metadata (``meta``, the JSON) and where it lies."""

    path: Path  # the .json file
    meta: dict

    @property
    def data_path(self) -> Path:
        return self.path.with_suffix(".npz")

    @property
    def points(self) -> list[dict]:
        return self.meta["points"]

    def arrays(self) -> dict[str, Any]:
        """The stored arrays, after checking the checksum (:class:`CorruptDataError`)."""
        try:
            raw = self.data_path.read_bytes()
        except OSError as exc:
            raise CorruptDataError(f"{self.data_path}: cannot read ({exc}); delete the entry "
                                   "and re-run its task") from None
        if _sha256(raw) != self.meta.get("sha256"):
            raise CorruptDataError(f"{self.data_path}: checksum does not match its .json; "
                                   "delete the entry and re-run its task")
        with host.load(io.BytesIO(raw), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}


@dataclass
class Status:
    """What the store holds for one experiment at one scale."""

    experiment: str
    scale: str
    done: list[dict] = field(default_factory=list)  # points with a valid entry
    missing: list[dict] = field(default_factory=list)  # selected points without one
    entries: list[Entry] = field(default_factory=list)  # valid entries
    stale: list[Entry] = field(default_factory=list)  # other preset values (or source)
    same_code: bool = False  # stale also counts entries made by other source code
    corrupt: list[tuple[Path, str]] = field(default_factory=list)  # (file, why)
    incomplete: list[Path] = field(default_factory=list)  # .npz without .json

    def summary(self) -> str:
        n = len(self.done) + len(self.missing)
        s = (f"{self.experiment} [{self.scale}]: {len(self.done)}/{n} points done in "
             f"{len(self.entries)} entries, {len(self.missing)} missing")
        if self.stale:
            why = "other preset values or source code" if self.same_code else \
                "other preset values"
            s += f", {len(self.stale)} stale entries ({why}; re-run them)"
        if self.corrupt:
            s += f", {len(self.corrupt)} corrupt entries"
        return s


def _point_key(pt: Mapping[str, Any]) -> str:
    return json.dumps(jsonable(dict(pt)), sort_keys=True)


class Store:
    """A directory of task results (see the module docstring)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_root()
        if self.root.exists() and not self.root.is_dir():
            raise ConfigurationError(f"store {self.root} exists and is not a directory; "
                                     "pass --store DIR with a directory")

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def folder(self, experiment: str, scale: str) -> Path:
        return self.root / experiment / scale

    def checkpoint_path(self, task: Task) -> Path:
        return self.folder(task.experiment, task.scale) / f"{task.key}.ckpt"

    def checkpoints(self, experiment: str, scale: str) -> list[Path]:
        """The checkpoint files of the experiment's tasks that are running or were
        interrupted (read them with :func:`~eicore.runs.context.checkpoint_info`)."""
        return sorted(self.folder(experiment, scale).glob("*.ckpt"))

    def claim(self, task: Task, *, wait: float = 24 * 3600.0, poll: float = 2.0,
              same_code: bool = False, block: bool = True) -> bool | None:
        """Take the lock of ``task`` so that two processes never run it at once.

        Returns True when this process holds the lock (release it with :meth:`release`),
        False if another process held it and stored a valid result meanwhile (a stale or
        corrupt entry does not count). A lock left by a process that no longer runs on this
        host is taken over. With ``block=False`` a task that another live process holds
        returns None at once instead of waiting for it.
        """
        import time

        lock = self.folder(task.experiment, task.scale) / f"{task.key}.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        me = f"{socket.gethostname()} {os.getpid()}"
        t0 = time.monotonic()
        while True:
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                with os.fdopen(fd, "w") as f:
                    f.write(me)
                if self._valid(task, same_code):
                    lock.unlink()  # it finished while we waited
                    return False
                return True
            except FileExistsError:
                if _lock_is_dead(lock):
                    try:
                        lock.unlink()
                    except FileNotFoundError:
                        pass
                    continue
            if self._valid(task, same_code):
                return False
            if not block:
                return None
            if time.monotonic() - t0 > wait:
                raise EicoreError(f"task {task.key} of {task.experiment} is locked by another "
                                  f"process ({lock}); delete the lock if no process runs it")
            time.sleep(poll)

    def _valid(self, task: Task, same_code: bool) -> bool:
        """True if every point of ``task`` has a valid (not stale) entry."""
        if not (self.folder(task.experiment, task.scale) / f"{task.key}.json").exists():
            return False
        st = self.status(task.experiment, task.scale, points=task.points, same_code=same_code)
        return not st.missing

    def release(self, task: Task) -> None:
        try:
            (self.folder(task.experiment, task.scale) / f"{task.key}.lock").unlink()
        except FileNotFoundError:
            pass

    def writable(self) -> None:
        """Raise a clear error unless entries can be written under the root."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ConfigurationError(f"cannot write to the store {self.root} ({exc.strerror}); "
                                     "pass --store DIR with a writable directory") from None

    # ----------------------------------------------------------------- writing
    def write(self, task: Task, result: Mapping[str, Any], info: Mapping[str, Any]) -> Entry:
        """Store one finished task atomically; ``info`` adds run facts (times, backend)."""
        exp = get(task.experiment)
        arrays, outputs = {}, {}
        n = len(task.points)
        for name, value in result.items():
            a = host.asarray(value)
            if a.dtype == object:
                raise EicoreError(f"{task.experiment}: output {name!r} is not a plain array")
            if name in exp.coords:
                dims = exp.dims.get(name, (name,))
            else:
                if a.ndim == 0 or a.shape[0] != n:
                    raise EicoreError(f"{task.experiment}: output {name!r} has shape {a.shape}; "
                                      f"its first axis must run over the task's {n} points")
                extra = exp.dims.get(name, tuple(f"{name}_{i}" for i in range(1, a.ndim)))
                if len(extra) != a.ndim - 1:
                    raise EicoreError(f"{task.experiment}: output {name!r} has shape {a.shape} "
                                      f"but declared dims {extra}")
                dims = ("point", *extra)
            arrays[name] = a
            outputs[name] = dict(dims=list(dims), shape=list(a.shape), dtype=str(a.dtype),
                                 coordinate=name in exp.coords)
        buf = io.BytesIO()
        host.savez(buf, **arrays)
        raw = buf.getvalue()
        folder = self.folder(task.experiment, task.scale)
        path = folder / f"{task.key}.json"
        meta = dict(
            format=FORMAT,
            experiment=task.experiment,
            scale=task.scale,
            task=task.key,
            points=jsonable(list(task.points)),
            seeds=sorted({pt["seed"] for pt in jsonable(list(task.points)) if "seed" in pt}),
            params=exp.param_values(task.scale),
            source=exp.source_hash(),
            outputs=outputs,
            sha256=_sha256(raw),
            bytes=len(raw),
            eicore=_version(),
            commit=git_commit(),
            date=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            **host_info(),
            **jsonable(dict(info)),
        )
        atomic_write_bytes(path.with_suffix(".npz"), raw)
        atomic_write_bytes(path, (json.dumps(meta, indent=1) + "\n").encode())
        return Entry(path, meta)

    # ----------------------------------------------------------------- reading
    def scan(self, experiment: str, scale: str) -> tuple[list[Entry], list[tuple[Path, str]],
                                                         list[Path]]:
        """``(entries, corrupt, incomplete)`` in the experiment's folder (no checksums)."""
        folder = self.folder(experiment, scale)
        entries, corrupt = [], []
        if not folder.is_dir():
            return [], [], []
        for js in sorted(folder.glob("*.json")):
            try:
                meta = json.loads(js.read_text())
                if meta.get("experiment") != experiment or "points" not in meta:
                    raise ValueError("not an entry of this experiment")
            except (OSError, ValueError) as exc:
                corrupt.append((js, f"unreadable metadata ({exc})"))
                continue
            e = Entry(js, meta)
            if not e.data_path.exists():
                corrupt.append((js, "its .npz is missing"))
                continue
            entries.append(e)
        have = {e.data_path for e in entries} | {p.with_suffix(".npz") for p, _ in corrupt}
        incomplete = [p for p in sorted(folder.glob("*.npz")) if p not in have]
        return entries, corrupt, incomplete

    def status(self, experiment: str | Experiment, scale: str | None = None, *,
               points: Iterable[Mapping[str, Any]] | None = None,
               verify: bool = False, same_code: bool = False) -> Status:
        """Done, missing, stale and corrupt for ``points`` (default: the whole sweep).

        ``verify`` also checks every entry's checksum (reads all data); ``same_code``
        also counts as stale the entries made by other source code of the experiment's
        part (what a cache of chapter runs wants; committed results are judged by
        their preset values only)."""
        from ..scale import current_scale

        exp = get(experiment)
        s = current_scale(scale)
        want = exp.protocol_values(s)
        main, sweep_keys = exp.presets[0].name, exp._sweep_keys()
        entries, corrupt, incomplete = self.scan(exp.name, s)
        st = Status(exp.name, s, corrupt=list(corrupt), incomplete=incomplete,
                    same_code=same_code)
        have: set[str] = set()
        for e in entries:
            got = dict(e.meta.get("params") or {})
            if main in got:
                got[main] = {k: v for k, v in got[main].items() if k not in sweep_keys}
            if got != want or (same_code and e.meta.get("source") != exp.source_hash()):
                st.stale.append(e)
                continue
            if verify:
                try:
                    e.arrays()
                except CorruptDataError as exc:
                    st.corrupt.append((e.data_path, str(exc)))
                    continue
            st.entries.append(e)
            have.update(_point_key(p) for p in e.points)
        pts = exp.points(s) if points is None else [dict(p) for p in points]
        for pt in pts:
            (st.done if _point_key(pt) in have else st.missing).append(pt)
        return st

    def load(self, experiment: str | Experiment, scale: str | None = None, *,
             only: Mapping[str, Iterable[Any]] | None = None, missing: str = "raise",
             same_code: bool = False):
        """The experiment's results as an :class:`xarray.Dataset` labelled by sweep axes.

        Every output becomes a variable with the sweep axes first, then its own dims;
        coordinates shared by all points (e.g. ``patterns`` of a learning curve) become
        coordinates (entries must agree on them). Points without a result are NaN (integer
        and boolean outputs then become floats; with every point present they keep their
        type); ``missing`` says what to do about
        them: ``"raise"`` (default), ``"warn"`` or ``"ignore"``. Stale and corrupt
        entries are never loaded; the dataset's ``attrs`` list them with the run facts.
        """
        import xarray as xr

        from ..scale import current_scale

        exp = get(experiment)
        s = current_scale(scale)
        pts = exp.points(s, only)
        st = self.status(exp, s, points=pts, same_code=same_code)
        wanted = {_point_key(p) for p in pts}
        # only the entries that hold a selected point are read, and counted in the run facts
        st.entries = [e for e in st.entries if any(_point_key(p) in wanted for p in e.points)]
        loaded = []
        for e in st.entries:  # read (and checksum) every entry; corrupt ones are left out
            try:
                loaded.append((e, e.arrays()))
            except CorruptDataError as exc:
                st.corrupt.append((e.data_path, str(exc)))
                bad = {_point_key(p) for p in e.points}
                st.done = [p for p in st.done if _point_key(p) not in bad]
                st.missing += [p for p in pts if _point_key(p) in bad]
        st.entries = [e for e, _ in loaded]
        if st.missing and missing != "ignore":
            msg = (f"{exp.name} [{s}]: {len(st.missing)} of {len(pts)} points have no valid "
                   f"result in {self.root}"
                   + (f" ({len(st.stale)} stale entries)" if st.stale else "")
                   + (f" ({len(st.corrupt)} corrupt entries)" if st.corrupt else "")
                   + f"; run `eicore run {exp.name} --scale {s}`")
            if missing == "raise":
                raise EicoreError(msg)
            import warnings

            warnings.warn(msg, stacklevel=2)
        axes = exp.sweep(s)
        index = {_point_key(p): i for i, p in enumerate(pts)}
        data: dict[str, Any] = {}
        filled: dict[str, Any] = {}
        dtypes: dict[str, Any] = {}
        dims: dict[str, tuple] = {}
        coords: dict[str, Any] = {}
        sel_axes = {a: list(dict.fromkeys(p[a] for p in pts)) for a in axes}
        flat_shape = (len(pts),)
        for e, arrays in loaded:
            rows = [(j, index[_point_key(p)]) for j, p in enumerate(e.points)
                    if _point_key(p) in wanted]
            for name, a in arrays.items():
                info = e.meta["outputs"][name]
                if info["coordinate"]:
                    if name in coords and not (coords[name][1].shape == a.shape
                                               and host.array_equal(coords[name][1], a)):
                        raise EicoreError(
                            f"{exp.name} [{s}]: coordinate {name!r} differs between entries "
                            f"(e.g. {e.path.name}); they cannot share one axis")
                    coords.setdefault(name, (tuple(info["dims"]), a))
                    continue
                if name not in data:
                    fill = host.nan if a.dtype.kind in "fc" else 0
                    kind = a.dtype if a.dtype.kind in "fc" else (
                        host.float64 if a.dtype.kind in "iub" else a.dtype)
                    data[name] = host.full(flat_shape + a.shape[1:], fill, dtype=kind)
                    filled[name] = host.zeros(len(pts), dtype=bool)
                    dtypes[name] = a.dtype
                    dims[name] = tuple(info["dims"][1:])
                for j, i in rows:
                    data[name][i] = a[j]
                    filled[name][i] = True
        for name in data:  # integers and booleans keep their type when no point is missing
            if filled[name].all() and data[name].dtype != dtypes[name]:
                data[name] = data[name].astype(dtypes[name])
        sweep_dims = tuple(axes)
        grid = tuple(len(v) for v in sel_axes.values())
        ds = xr.Dataset()
        full_grid = len(pts) == int(host.prod(grid)) if grid else True
        for name, a in data.items():
            if full_grid:
                ds[name] = (sweep_dims + dims[name], a.reshape(grid + a.shape[1:]))
            else:  # a selection that is not a grid: keep a flat point axis
                ds[name] = (("point",) + dims[name], a)
        if full_grid:
            ds = ds.assign_coords({a: list(v) for a, v in sel_axes.items()})
        else:
            ds = ds.assign_coords({a: ("point", [p[a] for p in pts]) for a in axes})
        for name, (d, a) in coords.items():
            ds = ds.assign_coords({name: (d, a)})
        ds.attrs.update(
            experiment=exp.name, scale=s, store=str(self.root),
            entries=len(st.entries), missing=len(st.missing), stale=len(st.stale),
            corrupt=len(st.corrupt),
            commits=", ".join(sorted({e.meta.get("commit", "?") for e in st.entries})),
            backends=", ".join(sorted({str(e.meta.get("backend", "?")) for e in st.entries})),
            cpu_seconds=float(sum(e.meta.get("cpu_seconds", 0.0) for e in st.entries)),
            wall_seconds=float(sum(e.meta.get("wall_seconds", 0.0) for e in st.entries)),
        )
        return ds

    def remove(self, entry: Entry | Path) -> None:
        """Delete an entry (both files)."""
        js = entry.path if isinstance(entry, Entry) else Path(entry).with_suffix(".json")
        for p in (js, js.with_suffix(".npz")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass


def _lock_is_dead(lock: Path) -> bool:
    """True if ``lock`` was written by a process of this host that has ended."""
    try:
        hostname, pid = lock.read_text().split()
    except (OSError, ValueError):
        return False  # being written right now, or not ours to judge
    if hostname != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def _version() -> str:
    from .. import __version__

    return __version__
