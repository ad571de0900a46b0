"""Exceptions that eicore raises on bad input, each with a message that says what to do.

All derive from :class:`EicoreError` and from the built-in exception a caller
would expect (``ValueError`` for a bad argument, ``FileNotFoundError`` for
missing data, ...), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "BackendMixError",
    "BackendUnavailableError",
    "ConfigurationError",
    "ConvergenceError",
    "CorruptDataError",
    "DataNotFoundError",
    "EicoreError",
    "ShapeError",
]


class EicoreError(Exception):
    """Base class of eicore's user-facing errors."""


class ConfigurationError(EicoreError, ValueError):
    """An unknown name for a backend, scale, rule, preset, ..."""


class BackendUnavailableError(EicoreError, RuntimeError):
    """The requested array backend cannot run on this machine."""


class BackendMixError(EicoreError, TypeError):
    """Arrays of two backends (e.g. NumPy and CuPy) were handed to one computation."""


class DataNotFoundError(EicoreError, FileNotFoundError):
    """A data file is neither on disk nor downloadable."""


class CorruptDataError(EicoreError, ValueError):
    """A data file exists but is truncated, corrupt or has the wrong checksum."""


class ShapeError(EicoreError, ValueError):
    """An array argument has the wrong shape or number of dimensions."""


class ConvergenceError(EicoreError, RuntimeError):
    """An iterative solver did not reach its tolerance."""


def check_shape(name: str, x, shape: tuple) -> None:
    """Raise :class:`ShapeError` unless ``x.shape`` matches ``shape``.

    ``None`` entries in ``shape`` match any length. Use it at the entry of
    public functions so that a wrong shape gives a sentence, not a traceback
    from deep inside a matrix product.
    """
    got = tuple(getattr(x, "shape", ()))
    ok = len(got) == len(shape) and all(s is None or s == g for s, g in zip(shape, got))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ShapeError(f"{name} must have shape {want}, got {got}")
