"""The NumPy/CuPy switch, the host RNG and array-API portability (appendix chapter)."""

from __future__ import annotations

import subprocess
import sys

import array_api_strict as xps
import numpy as np
import pytest

from eicore import backend
from eicore.errors import BackendUnavailableError, ConfigurationError


def _batched_rates(W, h, x):
    """A small batched computation using array-API operations only."""
    xp = backend.namespace(W, h, x)
    r = xp.maximum(W @ h[..., None] + x[..., None], 0.0)[..., 0]
    return xp.sum(r * r, axis=-1) / r.shape[-1] + xp.mean(xp.tanh(r), axis=-1)


def test_numpy_is_default_here(monkeypatch):
    monkeypatch.delenv("EICORE_BACKEND", raising=False)
    if backend.cupy_available():
        pytest.skip("a GPU is present: auto picks CuPy")
    assert backend.backend_name() == "numpy"
    assert backend.is_numpy_namespace(backend.get_xp())


@pytest.mark.parametrize("name", ["numpy", "NumPy", " numpy "])
def test_explicit_numpy(monkeypatch, name):
    monkeypatch.setenv("EICORE_BACKEND", name)
    assert backend.backend_name() == "numpy"


def test_unknown_backend_is_a_clear_value_error(monkeypatch):
    monkeypatch.setenv("EICORE_BACKEND", "bogus")
    with pytest.raises(ValueError, match=r"unknown backend 'bogus'.*auto, numpy, cupy"):
        backend.get_xp()
    with pytest.raises(ConfigurationError):
        backend.get_xp("torch")


def test_forced_cupy_without_gpu_is_clear(monkeypatch):
    if backend.cupy_available():
        pytest.skip("a working GPU is present")
    monkeypatch.setenv("EICORE_BACKEND", "cupy")
    with pytest.raises(BackendUnavailableError, match="no working GPU.*EICORE_BACKEND=numpy"):
        backend.get_xp()


@pytest.mark.parametrize(
    ("value", "message"),
    [("cupy", "no working GPU"), ("bogus", "unknown backend 'bogus'")],
)
def test_command_line_error_is_one_line(value, message):
    """`python -c 'import eicore; eicore.backend.get_xp()'` prints one clear line."""
    if value == "cupy" and backend.cupy_available():
        pytest.skip("a working GPU is present")
    proc = subprocess.run(
        [sys.executable, "-c", "import eicore; print(eicore.backend.get_xp())"],
        env={"EICORE_BACKEND": value, "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eicore: ") and message in lines[0], proc.stderr


def test_numpy_and_array_api_strict_agree():
    g = np.random.default_rng(0)
    W = g.normal(size=(3, 5, 5)).astype(np.float32)
    h = g.normal(size=(3, 5)).astype(np.float32)
    x = g.normal(size=(3, 5)).astype(np.float32)
    ref = _batched_rates(W, h, x)
    strict = _batched_rates(xps.asarray(W), xps.asarray(h), xps.asarray(x))
    np.testing.assert_array_equal(ref, backend.to_numpy(strict))
    # and the batch equals the single runs
    for b in range(3):
        np.testing.assert_allclose(_batched_rates(W[b], h[b], x[b]), ref[b], rtol=1e-6)


def test_host_rng_same_stream_on_every_namespace():
    a = backend.HostRNG(42, xp=backend.get_xp("numpy")).normal(size=(4, 3))
    b = backend.HostRNG(42, xp=xps).normal(size=(4, 3))
    assert a.dtype == np.float32 and b.dtype == xps.float32
    np.testing.assert_array_equal(a, backend.to_numpy(b))
    ref = np.random.default_rng(42).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(a, ref)


def test_host_rng_draws_and_dtypes():
    r = backend.rng(1)
    assert backend.to_numpy(r.uniform(0, 2, size=100)).max() < 2
    assert backend.to_numpy(r.random(5, dtype="float64")).dtype == np.float64
    assert backend.to_numpy(r.integers(0, 3, size=10)).dtype == np.int64
    assert sorted(backend.to_numpy(r.permutation(6)).tolist()) == list(range(6))
    assert (backend.to_numpy(r.lognormal(0, 0.65, size=50)) > 0).all()
    kids = r.spawn(2)
    assert not np.array_equal(*(backend.to_numpy(k.random(8)) for k in kids))


def test_to_numpy_roundtrip():
    x = xps.asarray([1.0, 2.0])
    assert isinstance(backend.to_numpy(x), np.ndarray)
    assert backend.to_numpy([1, 2]).tolist() == [1, 2]
    y = backend.asarray([1, 2], dtype="float32", xp=xps)
    assert y.dtype == xps.float32


@pytest.mark.skipif(not backend.cupy_available(), reason="no working CUDA GPU / CuPy here")
def test_cupy_matches_numpy():  # pragma: no cover - runs on GPU machines only
    xp = backend.get_xp("cupy")
    g = np.random.default_rng(0)
    W, h, x = (g.normal(size=s).astype(np.float32) for s in [(3, 5, 5), (3, 5), (3, 5)])
    ref = _batched_rates(W, h, x)
    got = backend.to_numpy(_batched_rates(xp.asarray(W), xp.asarray(h), xp.asarray(x)))
    np.testing.assert_allclose(got, ref, rtol=1e-5)


def test_only_backend_imports_numpy():
    """The lint rule's intent, checked without ruff: no numpy/cupy import outside backend.py."""
    import pathlib
    import re

    pkg = pathlib.Path(backend.__file__).parent
    pat = re.compile(r"^\s*(import|from)\s+(numpy|cupy)\b", re.M)
    offenders = [
        str(p.relative_to(pkg))
        for p in pkg.rglob("*.py")
        if p.name != "backend.py" and pat.search(p.read_text())
    ]
    assert offenders == []


def test_arrays_of_two_backends_are_a_one_line_error():
    from eicore.errors import BackendMixError

    with pytest.raises(BackendMixError, match=r"different backends \(array_api_strict, numpy\)"):
        backend.namespace(np.zeros(2), xps.asarray([1.0]))
    with pytest.raises(TypeError, match="eicore.backend.asarray"):  # still a TypeError
        backend.namespace(xps.asarray([1.0]), np.ones(3))
    assert backend.namespace(np.zeros(2), 1.0, None) is backend.namespace(np.zeros(1))
