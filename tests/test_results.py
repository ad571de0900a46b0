"""The paper-scale results committed under book/results/ (a result store made with
`eicore run ... --store book/results`).

Chapters load them instead of recomputing. They must match the current presets: a result
made with other preset values is stale, and this test names the experiment to re-run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eicore import runs

RESULTS = Path(__file__).resolve().parents[1] / "book" / "results"
MAX_BYTES = 30 * 2**20


def test_committed_results_are_small():
    total = sum(p.stat().st_size for p in RESULTS.rglob("*") if p.is_file()) \
        if RESULTS.is_dir() else 0
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


@pytest.mark.parametrize("name", _experiments())
def test_committed_results_match_the_presets(name):
    """Every entry is valid (checksum) and made with the current preset values."""
    store = runs.Store(RESULTS)
    problems = []
    for scale_dir in sorted(p for p in (RESULTS / name).iterdir() if p.is_dir()):
        scale = scale_dir.name
        st = store.status(name, scale, verify=True)
        for e in st.stale:
            problems.append(f"{name} [{scale}]: {e.path.name} was made with other preset "
                            f"values; re-run `eicore run {name} --scale {scale} --store "
                            "book/results` and delete the stale entry")
        for path, why in st.corrupt:
            problems.append(f"{name} [{scale}]: {path.name} is corrupt ({why})")
        for path in st.incomplete:
            problems.append(f"{name} [{scale}]: {path.name} has no metadata")
        for ck in _tracked(scale_dir, "*.ckpt*") + _tracked(scale_dir, "*.lock"):
            problems.append(f"{name} [{scale}]: {ck} (a running task's file) is committed")
        for js in scale_dir.glob("*.json"):
            assert json.loads(js.read_text())["scale"] == scale
    assert not problems, "\n".join(problems)
