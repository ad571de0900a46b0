"""Shared pytest fixtures: data location and backend namespaces."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Folder with mnist/ and fashion-mnist/ IDX files ($EICORE_DATA or ../shared/data)."""
    d = Path(os.environ.get("EICORE_DATA", SHARED_DATA))
    if not (d / "mnist").is_dir():
        pytest.skip(f"no MNIST files under {d}; set EICORE_DATA")
    return d


@pytest.fixture(scope="session")
def reduced_experiment() -> str:
    """A hidden random-walk experiment with a ``reduced`` protocol (the runner's self-test
    walks, ``eicore.runs.selftest.run``), registered for the tests of that scale; its name.

    Sweeps: ci 2 step sizes x 2 seeds; full 3 x 4; reduced (full, shorter) 2 x 2. The step
    size is a ``separate`` axis, so an estimate has one group per step size."""
    from eicore.runs.selftest import walk_experiment
    from eicore.scale import Preset

    preset = Preset(
        "runs.selftest_reduced",
        ci=dict(steps=400, chunk=100, seeds=2, step_size=[0.5, 1.0], sleep=0.0),
        full=dict(steps=4000, chunk=500, seeds=4, step_size=[0.5, 1.0, 2.0], sleep=0.0),
        reduced=dict(steps=1000, seeds=2, step_size=[0.5, 1.0]),
        doc="random walks with a reduced protocol; tests of the reduced scale",
    )
    exp = walk_experiment(preset, batch=2, separate=("step_size",),
                          doc="random walks at ci, full and reduced scale (tests of the "
                              "reduced scale)")
    return exp.name
