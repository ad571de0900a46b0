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
