"""The paper-scale results committed under book/results/ (made with `eicore run`).

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


def _stores() -> list[tuple[str, Path]]:
    out = []
    for scale_dir in sorted(RESULTS.glob("*")) if RESULTS.is_dir() else []:
        if scale_dir.is_dir():
            out.append((scale_dir.name, scale_dir))
    return out


def test_committed_results_are_small():
    total = sum(p.stat().st_size for p in RESULTS.rglob("*") if p.is_file()) \
        if RESULTS.is_dir() else 0
    assert total < MAX_BYTES, f"book/results holds {total / 2**20:.1f} MiB (limit 30 MiB)"


_NONE = pytest.param("none", None, marks=pytest.mark.skip(reason="no committed results yet"))


@pytest.mark.parametrize("label, root", _stores() or [_NONE])
def test_committed_results_match_the_presets(label, root):
    store = runs.Store(root)
    problems = []
    for exp_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        name = exp_dir.name
        for scale_dir in sorted(p for p in exp_dir.iterdir() if p.is_dir()):
            st = store.status(name, scale_dir.name, verify=True)
            for e in st.stale:
                problems.append(f"{name} [{scale_dir.name}]: {e.path.name} was made with other "
                                f"preset values; re-run `eicore run {name} --scale "
                                f"{scale_dir.name} --store {root}`")
            for path, why in st.corrupt:
                problems.append(f"{name} [{scale_dir.name}]: {path.name} is corrupt ({why})")
            for path in st.incomplete:
                problems.append(f"{name} [{scale_dir.name}]: {path.name} has no metadata")
            for ck in scale_dir.glob("*.ckpt*"):
                problems.append(f"{name}: checkpoint {ck.name} must not be committed")
            for js in scale_dir.glob("*.json"):
                meta = json.loads(js.read_text())
                assert meta["scale"] == scale_dir.name
    assert not problems, "\n".join(problems)
