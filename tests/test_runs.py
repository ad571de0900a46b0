"""The paper-scale layer (eicore.runs): store, checkpoints, resume, command line, Dask.

All tests use the hidden ``runs.selftest`` experiments (random walks, one generator per
point), so they are fast and independent of the models.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from eicore import runs
from eicore.backend import backend_name
from eicore.errors import ConfigurationError, EicoreError
from eicore.runs import Context, Interrupted, Store
from eicore.runs.cli import main

SELF = "runs.selftest"
SLOW = "runs.selftest_slow"


def _arrays(store: Store, name: str = SELF) -> dict:
    ds = store.load(name, "ci")
    return {k: ds[k].values for k in ds.data_vars}


@pytest.fixture
def serial(tmp_path_factory):
    """The selftest run serially once (the reference every other way of running must match)."""
    store = Store(tmp_path_factory.mktemp("serial"))
    runs.run(SELF, "ci", store=store)
    return _arrays(store)


def test_registry_and_tasks():
    exp = runs.get(SELF)
    assert SELF not in runs.experiments() and SELF in runs.experiments(include_hidden=True)
    pts = exp.points("ci")
    assert len(pts) == 12 and pts[0] == {"step_size": 0.5, "seed": 0}
    tasks = exp.tasks("ci", batch=5)
    assert [len(t) for t in tasks] == [5, 5, 2]
    assert [p for t in tasks for p in t.points] == pts
    assert len({t.key for t in tasks}) == 3
    sel = exp.points("ci", {"step_size": ["2"], "seed": [1, 3]})
    assert sel == [{"step_size": 2.0, "seed": 1}, {"step_size": 2.0, "seed": 3}]
    with pytest.raises(ConfigurationError, match="unknown sweep axis"):
        exp.points("ci", {"rule": ["SB"]})
    with pytest.raises(ConfigurationError, match="not a point of the sweep"):
        exp.points("ci", {"seed": [99]})
    with pytest.raises(ConfigurationError, match="eicore list"):
        runs.get("no.such")


def test_batch_equals_separate_runs(tmp_path, serial):
    store = Store(tmp_path)
    runs.run(SELF, "ci", store=store, batch=1)
    one = _arrays(store)
    for k in serial:
        np.testing.assert_array_equal(one[k], serial[k])


def test_store_entry_is_self_describing(tmp_path):
    store = Store(tmp_path)
    rep = runs.run(SELF, "ci", store=store, only={"step_size": [1.0]})
    (entry,) = rep.written
    meta = json.loads(entry.path.read_text())
    for key in ("experiment", "scale", "params", "points", "seeds", "eicore", "commit",
                "backend", "device", "wall_seconds", "cpu_seconds", "date", "host", "sha256"):
        assert key in meta, key
    assert meta["params"]["runs.selftest"]["steps"] == 4000
    assert meta["seeds"] == [0, 1, 2, 3]
    # readable without eicore: plain NumPy
    with np.load(entry.path.with_suffix(".npz")) as z:
        assert z["final"].shape == (4,) and z["path"].shape == (4, 16)
    ds = store.load(SELF, "ci", only={"step_size": [1.0]})
    assert ds["path"].dims == ("step_size", "seed", "chunk")
    assert list(ds["chunk_end"].values[:2]) == [250, 500]
    # the run facts of a selection count only the entries that hold selected points
    rest = runs.run(SELF, "ci", store=store)
    everything = store.load(SELF, "ci")
    assert everything.attrs["entries"] == 3 and ds.attrs["entries"] == 1
    sel = store.load(SELF, "ci", only={"step_size": [1.0]})
    assert sel.attrs["entries"] == 1
    assert sel.attrs["cpu_seconds"] == pytest.approx(meta["cpu_seconds"])
    # (sums of the entries' own figures: these tasks take milliseconds, which a loaded
    # machine may round to 0.000 s)
    others = [json.loads(e.path.read_text())["cpu_seconds"] for e in rest.written]
    assert len(others) == 2
    assert everything.attrs["cpu_seconds"] == pytest.approx(meta["cpu_seconds"] + sum(others))


def test_missing_stale_and_corrupt(tmp_path, serial):
    store = Store(tmp_path)
    runs.run(SELF, "ci", store=store)
    st = store.status(SELF, "ci")
    assert len(st.done) == 12 and not st.missing
    e0, e1, e2 = st.entries
    # stale: made with other preset values -> reported, never loaded
    meta = json.loads(e0.path.read_text())
    meta["params"]["runs.selftest"]["steps"] = 10
    e0.path.write_text(json.dumps(meta))
    st = store.status(SELF, "ci")
    assert len(st.stale) == 1 and len(st.missing) == 4
    with pytest.raises(EicoreError, match=r"4 of 12 points .*\(1 stale"):
        store.load(SELF, "ci")
    with pytest.warns(UserWarning):
        ds = store.load(SELF, "ci", missing="warn")
    assert int(np.isnan(ds["final"].values).sum()) == 4
    # corrupt: one flipped byte in the data -> reported, not loaded
    raw = bytearray(e1.data_path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    e1.data_path.write_bytes(bytes(raw))
    st = store.status(SELF, "ci", verify=True)
    assert len(st.corrupt) == 1 and "checksum" in st.corrupt[0][1]
    ds = store.load(SELF, "ci", missing="ignore")
    assert int(np.isnan(ds["final"].values).sum()) == 8 and ds.attrs["corrupt"] == 1
    # unreadable metadata -> corrupt
    e2.path.write_text("{not json")
    assert len(store.status(SELF, "ci").corrupt) == 1
    # a rerun replaces what is not valid (after the stale/corrupt ones are removed)
    for e in (e0, e1, e2):
        store.remove(e)
    rep = runs.run(SELF, "ci", store=store)
    assert len(rep.tasks) == 3 and rep.skipped_points == 0
    got = _arrays(store)
    for k in serial:
        np.testing.assert_array_equal(got[k], serial[k])


def _interrupted_selftest(ck, stop_after=5):
    """The 12-point self-test task, its uninterrupted result, and a run of it into the
    checkpoint ``ck`` stopped after ``stop_after`` saves: ``(exp, task, ref)``."""
    exp = runs.get(SELF)
    (task,) = exp.tasks("ci", batch=12)
    ref = exp.run(task, Context(None))
    with pytest.raises(Interrupted):
        exp.run(task, Context(ck, every=0, stop_after=stop_after))
    return exp, task, ref


def _resumes_bitwise(exp, task, ck, ref):
    """A run from the checkpoint ``ck`` resumes and equals the uninterrupted ``ref``."""
    ctx = Context(ck, every=0)
    got = exp.run(task, ctx)
    assert ctx.resumed
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])


def test_interrupted_task_resumes_bitwise(tmp_path):
    ck = tmp_path / "t.ckpt"
    exp, task, ref = _interrupted_selftest(ck)
    assert ck.exists()
    with pytest.raises(Interrupted):  # a second interruption, later
        exp.run(task, Context(ck, every=0, stop_after=3))
    _resumes_bitwise(exp, task, ck, ref)


def test_resumed_task_records_the_time_of_every_segment(tmp_path):
    """A resumed task's entry counts the wall and CPU time of the segments before the
    resume too (up to their last checkpoint), not only the last process's."""
    from eicore.runs.runner import execute
    exp = runs.get(SLOW)
    task = exp.tasks("ci", batch=1)[0]
    ck = tmp_path / "t.ckpt"
    src = exp.running_source_hash()
    with pytest.raises(Interrupted):  # 5 of the 20 chunks of 30 ms sleep
        exp.run(task, Context(ck, every=0, stop_after=5, source=src))
    ctx = Context(ck, every=0, source=src)
    _, info = execute(task, ctx=ctx)
    assert info["resumed"] and ctx.prior[0] >= 5 * 0.03
    assert info["wall_seconds"] >= 20 * 0.03  # both segments: every chunk's sleep
    assert info["cpu_seconds"] >= ctx.prior[1] > 0


def test_checkpoint_of_other_code_is_not_resumed(tmp_path, capfd):
    """A checkpoint written by other source (or in the pre-header format) starts over."""
    import pickle
    exp = runs.get(SELF)
    (task,) = exp.tasks("ci", batch=12)
    ref = exp.run(task, Context(None))
    ck = tmp_path / "t.ckpt"
    with pytest.raises(Interrupted):
        exp.run(task, Context(ck, every=0, stop_after=2, source="old"))
    ctx = Context(ck, every=0, source="new")
    got = exp.run(task, ctx)
    assert not ctx.resumed
    assert "written by other code" in capfd.readouterr().err
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])
    ck.write_bytes(pickle.dumps({"trainer": None, "done": 3}))  # a headerless checkpoint
    ctx = Context(ck, every=0, source="new")
    assert ctx.resume() is None and not ctx.resumed
    assert "older format" in capfd.readouterr().err


def test_checkpoints_are_compressed_and_plain_ones_still_resume(tmp_path):
    """A checkpoint is a zlib-compressed pickle; an uncompressed one (written before
    compression) resumes the same way."""
    import pickle
    import zlib
    ck = tmp_path / "t.ckpt"
    exp, task, ref = _interrupted_selftest(ck)
    data = ck.read_bytes()
    plain = zlib.decompress(data)
    assert data[:1] == b"\x78" and pickle.loads(plain)["state"]["done"] == 1250
    ck.write_bytes(plain)
    _resumes_bitwise(exp, task, ck, ref)


def test_status_lists_interrupted_tasks_from_their_checkpoints(tmp_path, capsys):
    """A checkpoint records the task's points and its progress; ``eicore status`` lists
    it (a task interrupted in another checkout or on another machine, or running now)."""
    from eicore.runs.context import checkpoint_info
    from eicore.runs.runner import execute
    store = Store(tmp_path)
    (task,) = runs.get(SELF).tasks("ci", batch=12, only={"seed": [0, 1, 2]})
    ck = store.checkpoint_path(task)
    with pytest.raises(Interrupted):  # 5 of the 16 chunks of 250 steps
        execute(task, ctx=Context(ck, every=0, stop_after=5))
    info = checkpoint_info(ck)
    assert info["label"] == task.describe() and info["units"] == (1250.0, 4000.0)
    assert info["spent"][0] > 0 and info["source"] == runs.get(SELF).running_source_hash()
    assert main(["status", SELF, "--store", str(tmp_path)]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("checkpoint")]
    assert line == [f"checkpoint: {task.key}  {task.describe()}: 31% done (1,250 of 4,000), "
                    "0.00 CPU hours so far, saved 0 min ago"]
    ck.write_bytes(b"half a file")
    assert checkpoint_info(ck) is None
    assert main(["status", SELF, "--store", str(tmp_path)]) == 0
    assert "unreadable; the task starts over" in capsys.readouterr().out


def test_resume_skips_finished_tasks(tmp_path, serial):
    store = Store(tmp_path)
    seen = []

    def stop_after_two(entry):
        seen.append(entry)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runs.run(SELF, "ci", store=store, on_result=stop_after_two)
    rep = runs.run(SELF, "ci", store=store)
    assert len(rep.tasks) == 1 and rep.skipped_points == 8
    got = _arrays(store)
    for k in serial:
        np.testing.assert_array_equal(got[k], serial[k])


def _cli(*args, **kw):
    env = dict(os.environ, EICORE_SCALE="ci", EICORE_PROGRESS="0")
    return subprocess.run([sys.executable, "-m", "eicore", *args], capture_output=True,
                          text=True, env=env, timeout=kw.get("timeout", 120))


def test_cli_output_into_a_closed_pipe_is_quiet():
    """`eicore list | head -1`: no traceback when the reader stops early."""
    env = dict(os.environ, EICORE_SCALE="ci", EICORE_PROGRESS="0")
    cli = subprocess.Popen([sys.executable, "-m", "eicore", "list", "--all"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cli.stdout.close()  # the reader is gone before anything is written
    err = cli.stderr.read().decode()
    assert cli.wait(timeout=120) in (0, 141) and "Traceback" not in err, err


def test_sigkill_never_leaves_a_corrupt_entry(tmp_path):
    """Kill `eicore run` at random moments: entries are whole or absent, resume completes."""
    store = tmp_path / "store"
    rnd = random.Random(1)
    env = dict(os.environ, EICORE_SCALE="ci", EICORE_PROGRESS="0")
    cmd = [sys.executable, "-m", "eicore", "run", SLOW, "--store", str(store),
           "--checkpoint-every", "0", "--no-progress"]
    for _ in range(4):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(1.0, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        st = Store(store).status(SLOW, "ci", verify=True)
        assert not st.corrupt and not st.stale
        leftovers = [p for p in (store / SLOW / "ci").glob("*") if p.name.endswith(".tmp")]
        assert all(p.name.startswith(".") for p in leftovers)  # only temporary names
    res = _cli("run", SLOW, "--store", str(store), "--no-progress")
    assert res.returncode == 0, res.stderr
    ref = Store(tmp_path / "ref")
    runs.run(SLOW, "ci", store=ref)
    a, b = _arrays(Store(store), SLOW), _arrays(ref, SLOW)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("args, words", [
    (["run", "no.such"], "unknown experiment"),
    (["run", SELF, "--only", "rule=SB"], "unknown sweep axis"),
    (["run", SELF, "--only", "seed=99"], "not a point of the sweep"),
    (["run", SELF, "--only", "seed"], "AXIS=VALUE"),
    (["run", SELF, "--seeds", "a-b"], "--seeds"),
    (["run", SELF, "--backend", "cupy"], "no working GPU"),
    (["run", SELF, "--scale", "huge"], "unknown scale"),
    (["status", SELF, "--store", "{file}"], "not a directory"),
    (["run", SELF, "--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    (["frobnicate"], "invalid choice"),
    (["run", SELF, "--no-wait", "--workers", "2"], "--no-wait is for runs in this process"),
])
def test_cli_errors_are_one_line(tmp_path, args, words):
    f = tmp_path / "a_file"
    f.write_text("")
    args = [a.replace("{file}", str(f)) for a in args]
    if "--store" not in args and args[0] == "run":
        args += ["--store", str(tmp_path / "s")]
    res = _cli(*args, timeout=60)
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], res.stderr


def test_cli_run_status_list(tmp_path, capsys):
    store = str(tmp_path)
    assert main(["run", SELF, "--store", store, "--seeds", "0-1", "--only", "step_size=1.0",
                 "--no-progress"]) == 0
    assert main(["status", SELF, "--store", store]) == 0
    out = capsys.readouterr().out
    assert "2/12 points done" in out and "10 missing" in out
    assert main(["list", "--all"]) == 0
    assert SELF in capsys.readouterr().out
    assert main(["estimate", SELF, "--seconds", "0.2"]) == 0
    assert "CPU hours" in capsys.readouterr().out


def test_a_failing_task_stops_the_run_unless_keep_going(tmp_path, monkeypatch, serial, capsys):
    """One failing task: by default the run stops there; with keep_going (``--keep-going``)
    every other task is run and stored, the failure is reported, its checkpoint kept, and a
    later run (cause fixed) resumes it and completes the sweep as if nothing had failed."""
    monkeypatch.setenv("EICORE_SELFTEST_FAIL", "1")
    store = Store(tmp_path)
    with pytest.raises(RuntimeError, match="self-test failure of seed 1"):
        runs.run(SELF, "ci", store=store, batch=1)
    report = runs.run(SELF, "ci", store=store, batch=1, keep_going=True, checkpoint_every=0)
    assert len(report.failed) == 3 and all("seed 1" in why for _, why in report.failed)
    assert all(t.values("seed") == [1] for t, _ in report.failed)
    assert "3 failed" in str(report)
    status = store.status(runs.get(SELF), "ci")
    assert len(status.done) == 9 and len(status.missing) == 3
    assert all(store.checkpoint_path(t).exists() for t, _ in report.failed)
    assert main(["run", SELF, "--scale", "ci", "--store", str(tmp_path), "--batch", "1",
                 "--keep-going", "--no-progress"]) == 1
    assert capsys.readouterr().out.count("failed: ") == 3
    monkeypatch.delenv("EICORE_SELFTEST_FAIL")
    report = runs.run(SELF, "ci", store=store, batch=1)
    assert len(report.written) == 3 and not report.failed
    assert all(e.meta["resumed"] for e in report.written)  # from the kept checkpoints
    got = _arrays(store)
    for k in serial:
        np.testing.assert_array_equal(got[k], serial[k])


def test_concurrent_runs_share_tasks(tmp_path):
    """Two processes running the same sweep (e.g. two chapters) never run a task twice."""
    store = tmp_path / "store"
    env = dict(os.environ, EICORE_SCALE="ci", EICORE_PROGRESS="0")
    cmd = [sys.executable, "-m", "eicore", "run", SLOW, "--store", str(store), "--no-progress"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    stored = sum(o.count("stored ") for o in outs)
    assert stored == 6, outs
    assert len(Store(store).status(SLOW, "ci").entries) == 6


def test_held_task_is_passed_over(tmp_path):
    """A task another live process holds is left for last; the others run meanwhile."""
    import socket
    import threading

    store = Store(tmp_path)
    exp = runs.get(SELF)
    tasks = exp.tasks("ci", batch=4)
    held = tasks[0]
    lock = store.folder(SELF, "ci") / f"{held.key}.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(f"{socket.gethostname()} {os.getpid()}")  # a live holder: this process
    done = threading.Event()
    t = threading.Thread(target=lambda: (runs.run(SELF, "ci", store=store, batch=4),
                                         done.set()))
    t.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # every other task lands while task 0 is held
            if len(store.status(SELF, "ci").entries) == len(tasks) - 1:
                break
            time.sleep(0.1)
        assert len(store.status(SELF, "ci").entries) == len(tasks) - 1
        assert not done.is_set()  # and the run waits for the held one
    finally:
        lock.unlink()  # the holder lets go: the waiting run takes it up
        t.join(60)
    assert done.is_set()
    assert not store.status(SELF, "ci").missing


def test_held_task_is_left_to_its_holder_without_wait(tmp_path, capsys):
    """``--no-wait``: the other tasks run, the held one is left to its holder at once
    (a process working through a list of experiments moves on)."""
    import socket

    store = Store(tmp_path)
    tasks = runs.get(SELF).tasks("ci", batch=4)
    lock = store.folder(SELF, "ci") / f"{tasks[1].key}.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(f"{socket.gethostname()} {os.getpid()}")  # a live holder: this process
    assert main(["run", SELF, "--store", str(tmp_path), "--batch", "4", "--no-wait",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "2 of 3 task(s) run and stored, 1 left to other processes" in out
    assert f"left to another process: {tasks[1].key}" in out
    st = store.status(SELF, "ci")
    assert len(st.entries) == 2 and len(st.missing) == 4 and lock.exists()


def test_paper_results_only_load(tmp_path, monkeypatch):
    """paper_results never computes: None for an empty store, partial sweeps are NaN."""
    monkeypatch.setenv("EICORE_RESULTS", str(tmp_path))
    assert runs.results_dir() == tmp_path
    assert runs.paper_results(SELF, "ci") is None
    store = Store(tmp_path)
    rep = runs.run(SELF, "ci", store=store, batch=4, max_tasks=1)
    ds = runs.paper_results(SELF, "ci")
    assert ds.attrs["done"] == 4 and ds.attrs["missing"] == 8
    assert int(ds.final.notnull().sum()) == 4
    (row,) = runs.run_facts("ci", names=[SELF])
    assert row["done"] == 4 and row["points"] == 12
    # the entry's own CPU time (a task of milliseconds may read 0.000 s)
    (entry,) = rep.written
    cpu = json.loads(entry.path.read_text())["cpu_seconds"]
    assert row["cpu_hours"] == pytest.approx(cpu / 3600) and row["cpu_hours"] >= 0


def test_seed_offset_shifts_every_experiment_but_not_committed_results(tmp_path, monkeypatch):
    """EICORE_SEED_OFFSET shifts the seed axis of every registered experiment; committed
    results (paper_results) keep their own seeds whatever the offset."""
    from eicore.runs.seeds import no_seed_offset, seed_values

    base = {n: [pt.get("seed") for pt in runs.get(n).points("ci")] for n in runs.experiments()}
    monkeypatch.setenv("EICORE_SEED_OFFSET", "5")
    for n, seeds in base.items():
        assert None not in seeds, f"{n} has no seed axis"
        assert [pt["seed"] for pt in runs.get(n).points("ci")] == [s + 5 for s in seeds], n
    assert seed_values(3) == [5, 6, 7] and seed_values([0, 2]) == [5, 7]
    with no_seed_offset():
        assert seed_values(2) == [0, 1]
    assert seed_values(1) == [5]
    monkeypatch.setenv("EICORE_RESULTS", str(tmp_path))
    monkeypatch.setenv("EICORE_SEED_OFFSET", "0")
    runs.run(SELF, "ci", store=Store(tmp_path), batch=4, max_tasks=1)
    ref = runs.paper_results(SELF, "ci")
    monkeypatch.setenv("EICORE_SEED_OFFSET", "5")
    got = runs.paper_results(SELF, "ci")
    assert got.attrs["done"] == 4 and list(got.seed.values) == list(ref.seed.values)
    np.testing.assert_array_equal(got.final.values, ref.final.values)


distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as c, distributed.Client(c) as client:
        yield client


def test_dask_sweep_equals_serial(tmp_path, cluster, serial):
    store = Store(tmp_path)
    rep = runs.run(SELF, "ci", store=store, client=cluster, batch=2)
    assert len(rep.written) == 6
    got = _arrays(store)
    for k in serial:
        np.testing.assert_array_equal(got[k], serial[k])


def test_dask_survives_a_killed_worker(tmp_path, cluster):
    store = Store(tmp_path)
    killed = []

    def kill_one_worker(entry):
        if not killed:
            pids = cluster.run(os.getpid)
            pid = next(iter(pids.values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    rep = runs.run(SLOW, "ci", store=store, client=cluster, on_result=kill_one_worker)
    assert killed and len(rep.written) == 6
    ref = Store(tmp_path / "ref")
    runs.run(SLOW, "ci", store=ref)
    a, b = _arrays(store, SLOW), _arrays(ref, SLOW)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_local_cluster_from_workers(tmp_path, serial):
    store = Store(tmp_path)
    rep = runs.run(SELF, "ci", store=store, workers=2, batch=3)
    assert len(rep.written) == 4
    got = _arrays(store)
    for k in serial:
        np.testing.assert_array_equal(got[k], serial[k])


def test_a_stale_entry_is_recomputed_and_replaced(tmp_path, serial):
    store = Store(tmp_path)
    runs.run(SELF, "ci", store=store)
    e = store.status(SELF, "ci").entries[0]
    meta = json.loads(e.path.read_text())
    meta["params"]["runs.selftest"]["steps"] = 10
    e.path.write_text(json.dumps(meta))
    rep = runs.run(SELF, "ci", store=store)
    assert len(rep.written) == 1  # same task key: the stale entry is replaced
    st = store.status(SELF, "ci")
    assert not st.stale and not st.missing
    got = _arrays(store)
    for k in serial:
        np.testing.assert_array_equal(got[k], serial[k])


def test_context_knows_its_store(tmp_path):
    seen = []
    exp = runs.get(SELF)
    original = exp.run

    def spy(task, ctx):
        seen.append(ctx.store)
        return original(task, ctx)

    object.__setattr__(exp, "run", spy)
    try:
        store = Store(tmp_path)
        runs.run(SELF, "ci", store=store, only={"step_size": [1.0]})
    finally:
        object.__setattr__(exp, "run", original)
    assert seen and all(s is store for s in seen)


def test_sweep_size_keys_do_not_make_points_stale(tmp_path):
    """More seeds in the preset add points; they do not invalidate the stored ones."""
    store = Store(tmp_path)
    runs.run(SELF, "ci", store=store, only={"step_size": [1.0]})
    e = store.status(SELF, "ci").entries[0]
    meta = json.loads(e.path.read_text())
    meta["params"]["runs.selftest"]["seeds"] = 2
    meta["params"]["runs.selftest"]["step_size"] = [1.0]
    e.path.write_text(json.dumps(meta))
    st = store.status(SELF, "ci")
    assert not st.stale and len(st.done) == 4
    assert runs.get(SELF)._sweep_keys() == {"seeds", "step_size"}


def test_reduced_scale_is_stored_and_labelled_apart(tmp_path, reduced_experiment, capsys):
    """A run at scale ``reduced`` lands in ``<store>/<name>/reduced/`` with the reduced
    preset values; it is loaded at ``reduced`` and never at ``full``."""
    name = reduced_experiment
    exp = runs.get(name)
    assert exp.has_scale("reduced") and not runs.get(SELF).has_scale("reduced")
    assert all(exp.has_scale(s) for s in ("ci", "full", "smoke"))
    store = Store(tmp_path)
    rep = runs.run(name, "reduced", store=store)
    assert len(rep.written) == 2
    files = sorted(p.name for p in (tmp_path / name / "reduced").iterdir())
    assert len(files) == 4 and not (tmp_path / name / "full").exists()
    meta = rep.written[0].meta
    assert meta["scale"] == "reduced"
    assert meta["params"][name]["steps"] == 1000 and meta["params"][name]["chunk"] == 500
    ds = runs.paper_results(name, "reduced", store=store)
    assert ds.attrs["scale"] == "reduced" and ds.attrs["done"] == 4
    assert ds.attrs["missing"] == 0 and ds["path"].shape == (2, 2, 2)
    assert runs.paper_results(name, "full", store=store) is None
    (row,) = runs.run_facts("reduced", store=store, names=[name, SELF])  # SELF: no row
    assert row["experiment"] == name and row["done"] == row["points"] == 4
    assert row["stale"] == 0 and row["entries"] == 2 and row["cpu_hours"] >= 0
    # the stale check compares a reduced entry with the reduced values
    assert not store.status(name, "reduced").stale
    e = rep.written[0]
    meta = json.loads(e.path.read_text())
    meta["params"][name]["steps"] = 4000  # the full value: stale at reduced
    e.path.write_text(json.dumps(meta))
    assert len(store.status(name, "reduced").stale) == 1
    # every experiment, at every scale, the way the appendix goes through them
    for s in ("ci", "full", "reduced", "smoke"):
        for n, x in runs.experiments(include_hidden=True).items():
            if x.has_scale(s):
                assert sorted(map(str, (dict(p) for t in x.tasks(s) for p in t.points))) == \
                    sorted(map(str, x.points(s))), (n, s)
    assert all(r["experiment"] != SELF for r in runs.run_facts("reduced", store=store))
    # `eicore list --scale reduced`: only the experiments with a reduced protocol
    assert main(["list", "--all", "--scale", "reduced"]) == 0
    out = capsys.readouterr().out
    assert name in out and f"{SELF} " not in out and "dendritic.fig4b_bars" not in out
    with pytest.raises(ConfigurationError, match="has no reduced protocol"):
        runs.get(SELF).points("reduced")


def test_cli_run_reduced_into_its_own_folder(tmp_path, reduced_experiment, capsys):
    name = reduced_experiment
    assert main(["run", name, "--scale", "reduced", "--store", str(tmp_path),
                 "--only", "step_size=1.0", "--no-progress"]) == 0
    assert f"{name} [reduced]" in capsys.readouterr().out
    assert len(list((tmp_path / name / "reduced").glob("*.json"))) == 1
    assert main(["status", name, "--scale", "reduced", "--store", str(tmp_path)]) == 0
    assert "2/4 points done" in capsys.readouterr().out


def test_estimate_writes_json(tmp_path, reduced_experiment, capsys):
    name = reduced_experiment
    path = tmp_path / "sub" / "estimate.json"
    argv = ["estimate", name, "--scale", "reduced", "--seconds", "5", "--seeds", "0-1",
            "--only", "step_size=0.5,1.0", "--batch", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert main([*argv, "--json", str(path)]) == 0
    out = capsys.readouterr().out
    strip = lambda text: re.sub(r"[0-9][0-9.e+-]*", "#", text)  # times differ
    assert strip(out) == strip(printed)  # --json prints nothing else
    rec = json.loads(path.read_text())
    assert [p.name for p in path.parent.iterdir()] == ["estimate.json"]  # no temporary left
    assert (rec["experiment"], rec["scale"]) == (name, "reduced")
    assert rec["selection"] == {"only": {"step_size": ["0.5", "1.0"]}, "seeds": [0, 1],
                                "batch": 1}
    assert rec["slice_seconds"] == 5
    assert [g["separate"] for g in rec["groups"]] == [{"step_size": 0.5}, {"step_size": 1.0}]
    for g in rec["groups"]:
        assert (g["tasks"], g["points_per_task"], g["points"]) == (2, 1, 2)
        assert g["measured"] in ("whole", "extrapolated") and g["timed_seconds"] >= 0
        assert g["task_wall_seconds"] > 0 and g["task_cpu_seconds"] >= 0 and g["peak_mib"] > 0
    tot = rec["total"]
    assert (tot["tasks"], tot["points"]) == (4, 4)
    assert tot["wall_seconds"] == pytest.approx(sum(g["group_wall_seconds"]
                                                    for g in rec["groups"]))
    assert tot["cpu_hours"] == pytest.approx(tot["cpu_seconds"] / 3600)
    assert tot["peak_mib"] == max(g["peak_mib"] for g in rec["groups"])
    for key in ("eicore", "commit", "date", "backend", "device"):
        assert rec[key], key
    assert rec["backend"] == backend_name() and rec["date"].endswith("+00:00")
    assert {"host", "python", "numpy", "platform", "cpu", "cpus"} <= set(rec["host"])
    assert main(["estimate", name, "--json", str(tmp_path)]) == 1  # a folder: one-line error
    assert "is a directory" in capsys.readouterr().err


def test_cli_reduced_without_a_reduced_protocol_is_one_line(tmp_path):
    for cmd in ("run", "estimate", "status"):
        res = _cli(cmd, SELF, "--scale", "reduced", "--store", str(tmp_path), timeout=60) \
            if cmd != "estimate" else _cli(cmd, SELF, "--scale", "reduced", timeout=60)
        assert res.returncode == 1, res
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1, res.stderr
        assert lines[0].startswith(f"eicore: error: experiment '{SELF}' has no reduced "
                                   "protocol"), lines[0]
        assert "run it at scale 'full' or 'ci'" in lines[0]
    assert not (tmp_path / SELF).exists()


def test_time_slice_extrapolates_the_whole_task():
    # the slow walk sleeps 0.03 s per chunk of 100 steps: 2000 steps take about 0.6 s
    from eicore.runs.estimate import time_slice

    exp = runs.get(SLOW)
    task = exp.tasks("ci")[0]
    whole = time_slice(exp, task, 60.0)
    assert whole.finished and whole.total == 2000
    assert (whole.task_wall, whole.task_cpu) == (whole.wall, whole.cpu)
    part = time_slice(exp, task, 0.2)
    assert not part.finished and part.total == 2000 and part.wall < whole.wall
    # the sleep sets the pace, so the extrapolation lands near the measured whole task
    assert 0.5 * whole.wall < part.task_wall < 2.0 * whole.wall
    assert part.task_cpu <= part.task_wall
