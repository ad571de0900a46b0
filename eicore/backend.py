"""Array backend: the one place in :mod:`eicore` that imports NumPy or CuPy.

Every other module takes arrays and asks them for their namespace
(:func:`namespace`), so the same code runs on NumPy, on CuPy and on
``array_api_strict`` (which the tests use to prove that only array-API
operations are used). The active backend for *new* arrays is chosen by the
environment variable ``EICORE_BACKEND``:

``auto`` (default)
    CuPy if it imports, reports a device and runs a tiny kernel; NumPy otherwise.
``numpy``
    Always NumPy.
``cupy``
    CuPy, and a clear :class:`~eicore.errors.BackendUnavailableError` if no working GPU is found.
``strict``
    A GPU emulation for tests: ``array_api_strict`` with every new array on its
    ``Device("device1")``, which, like CuPy, refuses ``numpy.asarray`` and refuses to
    mix with host arrays. Results move to the host only through :func:`to_numpy`.

An unknown name raises :class:`~eicore.errors.ConfigurationError` (a ``ValueError``).

Random numbers are always drawn on the host from a seeded
:class:`numpy.random.Generator` and then moved to the active backend
(:class:`HostRNG`), so that every backend sees the same stream; see the
appendix chapter *Backends and scale* (``book/appendix/backends.ipynb``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import array_api_compat
import array_api_compat.numpy as _np_xp
import numpy

from .errors import BackendMixError, BackendUnavailableError, ConfigurationError

__all__ = [
    "BACKENDS",
    "HostRNG",
    "asarray",
    "backend_name",
    "cupy_available",
    "default_dtype",
    "get_xp",
    "host",
    "is_numpy_namespace",
    "namespace",
    "rng",
    "to_numpy",
]

#: Names accepted by ``EICORE_BACKEND`` and :func:`get_xp`.
BACKENDS = ("auto", "numpy", "cupy", "strict")

#: The host-side NumPy module, for code that must run on the host whatever the
#: backend (file parsing, random number generation). Model code must not use it.
host = numpy



def _requested(name: str | None) -> str:
    raw = os.environ.get("EICORE_BACKEND", "auto") if name is None else name
    value = raw.strip().lower()
    if value not in BACKENDS:
        raise ConfigurationError(
            f"unknown backend {raw!r} (from {'EICORE_BACKEND' if name is None else 'argument'}); "
            f"choose one of {', '.join(BACKENDS)}, e.g. `export EICORE_BACKEND=numpy`"
        )
    return value


@functools.cache
def _cupy_probe() -> tuple[bool, str]:
    """Import CuPy, check for a device and run a tiny kernel; never raises."""
    try:
        import cupy  # noqa: F401  (only here)
    except Exception as exc:  # ImportError, or a broken CUDA install
        return False, f"cupy is not importable ({type(exc).__name__}: {exc})"
    try:
        if not cupy.is_available():
            return False, "cupy is installed but reports no usable CUDA device"
        x = cupy.arange(4, dtype=cupy.float32)
        ok = float((x * x).sum().get()) == 14.0
        if not ok:
            return False, "cupy ran a test kernel but returned a wrong result"
    except Exception as exc:  # CUDARuntimeError, CompileException, ...
        return False, f"cupy could not run a kernel ({type(exc).__name__}: {exc})"
    return True, "ok"


def cupy_available() -> bool:
    """True if CuPy imports, sees a device and runs a test kernel."""
    return _cupy_probe()[0]


def backend_name(name: str | None = None) -> str:
    """Resolve ``name`` (or ``EICORE_BACKEND``) to ``"numpy"``, ``"cupy"`` or ``"strict"``."""
    value = _requested(name)
    if value in ("numpy", "strict"):
        return value
    ok, why = _cupy_probe()
    if value == "cupy" and not ok:
        raise BackendUnavailableError(
            f"EICORE_BACKEND=cupy but no working GPU: {why}. "
            "Install the `gpu` extra on a CUDA machine, or use EICORE_BACKEND=numpy (or auto)."
        )
    return "cupy" if ok else "numpy"


def get_xp(name: str | None = None) -> Any:
    """The array-API namespace of the active backend.

    Returns ``array_api_compat.numpy`` or ``array_api_compat.cupy`` (which add
    the array-API functions that the bare libraries lack).
    """
    which = backend_name(name)
    if which == "cupy":
        import array_api_compat.cupy as cp_xp

        return cp_xp
    if which == "strict":
        return _strict_on_device()
    return _np_xp


#: The creation functions of the array API: on the ``strict`` backend they default to the
#: emulated device, as CuPy's create on the current GPU.
_CREATION = ("asarray", "zeros", "ones", "empty", "full", "arange", "linspace", "eye",
             "from_dlpack")


@functools.cache
def _strict_on_device() -> Any:
    """``array_api_strict`` whose creation functions put new arrays on ``device1``.

    This emulates a GPU library's *current device*: code that creates arrays without
    naming a device gets device arrays, and any host array that reaches an operation
    with them raises, as it would on CuPy. Only the ``strict`` backend patches the
    module (once per process).
    """
    import array_api_strict as xps

    device = xps.Device("device1")
    for fname in _CREATION:
        f = getattr(xps, fname, None)
        if f is None or getattr(f, "_eicore_device", False):
            continue

        def on_device(*args, _f=f, **kwargs):
            if kwargs.get("device") is None:
                kwargs["device"] = device
            return _f(*args, **kwargs)

        on_device._eicore_device = True
        on_device.__doc__ = f.__doc__
        on_device.__name__ = fname
        setattr(xps, fname, on_device)
    return xps


def namespace(*arrays: Any) -> Any:
    """The array-API namespace shared by ``arrays`` (Python scalars are ignored).

    Arrays of two backends (host NumPy arrays beside CuPy or emulated-device arrays) raise
    :class:`~eicore.errors.BackendMixError`, whose one-line message names the backends and
    the fix (:func:`asarray` moves host data to the active backend)."""
    arrs = [a for a in arrays if not isinstance(a, int | float | bool | complex) and a is not None]
    if not arrs:
        return get_xp()
    try:
        return array_api_compat.array_namespace(*arrs)
    except TypeError as exc:
        if "Multiple namespaces" not in str(exc):
            raise
        kinds = sorted({type(a).__module__.split(".")[0] for a in arrs})
        raise BackendMixError(
            f"arrays of different backends ({', '.join(kinds)}) in one computation: put the "
            f"inputs on the active backend ({backend_name()}) with eicore.backend.asarray, "
            "or read results with eicore.backend.to_numpy") from None


def is_numpy_namespace(xp: Any) -> bool:
    """True for NumPy (bare or array-API-compat wrapped)."""
    return array_api_compat.is_numpy_namespace(xp)


def default_dtype(xp: Any = None) -> Any:
    """float32, the papers' codes' precision, in namespace ``xp``."""
    return (xp or get_xp()).float32


def to_numpy(x: Any) -> numpy.ndarray:
    """Copy any backend's array (or a scalar / nested sequence) to a NumPy array.

    This is the one way results cross from a device to the host (for plotting, printing,
    storing); it synchronises with the device.
    """
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if isinstance(x, numpy.ndarray):
        return x
    if type(x).__module__.startswith("array_api_strict"):
        import array_api_strict as xps

        return numpy.asarray(x.to_device(xps.Device("CPU_DEVICE")))
    try:
        return numpy.asarray(x)
    except Exception:
        # array_api_strict and friends: go through DLPack
        return numpy.from_dlpack(x)


def asarray(x: Any, dtype: Any = None, xp: Any = None) -> Any:
    """Put host data on backend ``xp`` (default: the active backend)."""
    xp = xp or get_xp()
    if dtype is not None and isinstance(dtype, str):
        dtype = getattr(xp, dtype)
    return xp.asarray(x, dtype=dtype)


class HostRNG:
    """A seeded host-side generator whose draws land on an array backend.

    All draws come from one :class:`numpy.random.Generator` (PCG64), so NumPy,
    CuPy and ``array_api_strict`` runs with the same seed see the same numbers.
    ``xp`` defaults to the active backend; ``dtype`` defaults to float32.

    Parameters
    ----------
    seed
        Anything :func:`numpy.random.default_rng` accepts.
    xp
        Target namespace of the returned arrays.
    """

    def __init__(self, seed: Any = None, xp: Any = None):
        self.generator = numpy.random.default_rng(seed)
        self.xp = xp or get_xp()

    def _out(self, a: Any, dtype: Any) -> Any:
        if dtype is None:
            dtype = self.xp.float32 if numpy.asarray(a).dtype.kind == "f" else None
        elif isinstance(dtype, str):
            dtype = getattr(self.xp, dtype)
        return self.xp.asarray(a, dtype=dtype) if dtype is not None else self.xp.asarray(a)

    def spawn(self, n: int) -> list[HostRNG]:
        """``n`` independent child generators on the same backend."""
        children = []
        for g in self.generator.spawn(n):
            child = HostRNG.__new__(HostRNG)
            child.generator, child.xp = g, self.xp
            children.append(child)
        return children

    def random(self, size: int | Sequence[int], dtype: Any = None) -> Any:
        """Uniform numbers in [0, 1)."""
        return self._out(self.generator.random(size), dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype: Any = None) -> Any:
        return self._out(self.generator.uniform(low, high, size), dtype)

    def normal(self, loc=0.0, scale=1.0, size=None, dtype: Any = None) -> Any:
        return self._out(self.generator.normal(loc, scale, size), dtype)

    def lognormal(self, mean=0.0, sigma=1.0, size=None, dtype: Any = None) -> Any:
        return self._out(self.generator.lognormal(mean, sigma, size), dtype)

    def integers(self, low, high=None, size=None, dtype: Any = None) -> Any:
        return self._out(self.generator.integers(low, high, size), dtype or self.xp.int64)

    def permutation(self, n: int) -> Any:
        return self._out(self.generator.permutation(n), self.xp.int64)

    def choice(self, a, size=None, replace: bool = True, p=None) -> Any:
        return self._out(self.generator.choice(a, size=size, replace=replace, p=p), None)


def rng(seed: Any = None, xp: Any = None) -> HostRNG:
    """Shorthand for :class:`HostRNG` ``(seed, xp)``."""
    return HostRNG(seed, xp)
