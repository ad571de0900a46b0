"""The paper-scale results committed under book/results/ (a result store made with
`eicore run ... --store book/results`).

Chapters load them instead of recomputing. They must match the current presets at their
scale (every scale folder present: ``full``, and ``reduced`` for the experiments run at a
reduced protocol): a result made with other preset values is stale, and this test names the
experiment to re-run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eicore import runs
from eicore.scale import SCALES

RESULTS = Path(__file__).resolve().parents[1] / "book" / "results"
MAX_BYTES = 30 * 2**20


def test_committed_results_are_small():
    """Entries and the committed checkpoints of unfinished tasks together stay under the
    limit (a checkpoint that is not committed is a local file of a run in progress)."""
    if not RESULTS.is_dir():
        return
    carried = {(RESULTS / p).resolve() for p in _tracked(RESULTS, "*.ckpt")}
    total = sum(p.stat().st_size for p in RESULTS.rglob("*")
                if p.is_file() and (p.suffix not in (".ckpt", ".ckpt-final", ".lock")
                                    or p.resolve() in carried))
    assert total < MAX_BYTES, f"book/results holds {total / 2**20:.1f} MiB (limit 30 MiB)"


def _tracked(folder: Path, pattern: str) -> list[str]:
    """Files matching ``pattern`` in ``folder`` that git tracks (none outside a checkout)."""
    import subprocess

    try:
        res = subprocess.run(["git", "ls-files", "--", pattern], cwd=folder,
                             capture_output=True, text=True, timeout=30)
    except OSError:
        return []
    return res.stdout.split() if res.returncode == 0 else []


def _experiments() -> list:
    found = sorted(p.name for p in RESULTS.iterdir() if p.is_dir()) if RESULTS.is_dir() else []
    return found or [pytest.param(None, marks=pytest.mark.skip(reason="no results committed"))]


def _problems(root: Path, name: str) -> list[str]:
    """What is wrong with the entries of experiment ``name`` in the store at ``root``, in
    every scale folder it has (full, reduced, ...): stale (each scale's entries against the
    current preset values at that scale), corrupt, incomplete, committed running files."""
    store = runs.Store(root)
    problems = []
    for scale_dir in sorted(p for p in (root / name).iterdir() if p.is_dir()):
        scale = scale_dir.name
        if scale not in SCALES:
            problems.append(f"{name}: {scale_dir} is not a scale folder (one of "
                            f"{', '.join(SCALES)})")
            continue
        if not runs.get(name).has_scale(scale):
            problems.append(f"{name} [{scale}]: the experiment has no {scale} protocol; give "
                            f"its presets {scale} values again or delete {scale_dir}")
            continue
        st = store.status(name, scale, verify=True)
        for e in st.stale:
            problems.append(f"{name} [{scale}]: {e.path.name} was made with other preset "
                            f"values; re-run `eicore run {name} --scale {scale} --store "
                            "book/results` and delete the stale entry")
        for path, why in st.corrupt:
            problems.append(f"{name} [{scale}]: {path.name} is corrupt ({why})")
        for path in st.incomplete:
            problems.append(f"{name} [{scale}]: {path.name} has no metadata")
        for ck in _tracked(scale_dir, "*.ckpt-final") + _tracked(scale_dir, "*.lock"):
            problems.append(f"{name} [{scale}]: {ck} (a running task's file) is committed")
        # a committed checkpoint carries an unfinished task to another checkout; once the
        # task's entry exists it is dead weight
        for ck in _tracked(scale_dir, "*.ckpt"):
            if (scale_dir / ck).with_suffix(".json").exists():
                problems.append(f"{name} [{scale}]: {ck} is committed but its task has "
                                f"finished; `git rm` it")
        for js in scale_dir.glob("*.json"):
            if json.loads(js.read_text()).get("scale") != scale:
                problems.append(f"{name} [{scale}]: {js.name} records another scale")
    return problems


@pytest.mark.parametrize("name", _experiments())
def test_committed_results_match_the_presets(name):
    """Every entry, at every scale stored (full, reduced, ...), is valid (checksum) and made
    with the current preset values at that scale."""
    problems = _problems(RESULTS, name)
    assert not problems, "\n".join(problems)


def test_the_check_covers_every_scale(tmp_path, reduced_experiment):
    """The check above judges the full and the reduced entries, each against its own
    preset values, and names the scale to re-run."""
    name = reduced_experiment
    runs.run(name, "full", store=runs.Store(tmp_path), only={"step_size": [1.0]})
    rep = runs.run(name, "reduced", store=runs.Store(tmp_path), only={"step_size": [1.0]})
    assert _problems(tmp_path, name) == []
    meta = json.loads(rep.written[0].path.read_text())
    meta["params"][name]["steps"] = 4000  # the full value, in a reduced entry
    rep.written[0].path.write_text(json.dumps(meta))
    (problem,) = _problems(tmp_path, name)
    assert problem.startswith(f"{name} [reduced]: ") and "--scale reduced" in problem
    (tmp_path / name / "huge").mkdir()
    assert any("huge is not a scale folder" in p for p in _problems(tmp_path, name))


def test_a_committed_checkpoint_is_allowed_until_its_task_finishes(tmp_path):
    """An unfinished task's checkpoint may be committed (it carries the run to a new
    checkout); once the task's entry is stored, the committed checkpoint is reported.
    A lock is never committed."""
    import subprocess

    from eicore.runs.runner import execute

    name = "runs.selftest"
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    store = runs.Store(tmp_path)
    (task,) = runs.get(name).tasks("full", batch=2, only={"step_size": [1.0], "seed": [0, 1]})
    ck = store.checkpoint_path(task)
    with pytest.raises(runs.Interrupted):
        execute(task, ctx=runs.Context(ck, every=0, stop_after=1))
    subprocess.run(["git", "add", "-f", str(ck)], cwd=tmp_path, check=True)
    assert _problems(tmp_path, name) == []
    runs.run(name, "full", store=store, only={"step_size": [1.0], "seed": [0, 1]}, batch=2)
    ck.write_bytes(b"")  # the runner deleted it; the committed file is back on checkout
    (problem,) = _problems(tmp_path, name)
    assert f"{ck.name} is committed but its task has finished; `git rm` it" in problem
    ck.unlink()
    subprocess.run(["git", "rm", "-q", "--cached", str(ck)], cwd=tmp_path, check=True)
    lock = ck.with_suffix(".lock")
    lock.write_text("1")
    subprocess.run(["git", "add", "-f", str(lock)], cwd=tmp_path, check=True)
    (problem,) = _problems(tmp_path, name)
    assert "(a running task's file) is committed" in problem


def test_the_paper_scale_script_lists_every_stored_experiment():
    """scripts/paper_scale.sh (the list of the book's paper-scale runs) names registered
    experiments at scales they have, and every experiment and scale stored in book/results."""
    import re

    script = (RESULTS.parents[1] / "scripts" / "paper_scale.sh").read_text()
    listed = set(re.findall(r"^run (\S+) (\S+)", script, flags=re.M))
    assert listed
    for name, scale in listed:
        assert runs.get(name).has_scale(scale), f"paper_scale.sh: {name} has no {scale} protocol"
    stored = {(exp.name, sc.name) for exp in RESULTS.iterdir() if exp.is_dir()
              for sc in exp.iterdir() if sc.is_dir() and any(sc.glob("*.json"))}
    assert stored <= listed, f"stored but not in scripts/paper_scale.sh: {sorted(stored - listed)}"
