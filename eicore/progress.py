"""Progress bars for long runs: shown to a reader, never stored in a notebook or a page.

Chapters write ``from eicore.progress import tqdm`` and pass ``progress=True`` to long
runs. Whether a bar is drawn is decided here, once for the whole notebook, so that the
same chapter shows bars to a person running it and leaves no bar text (and no empty
output box) in stored outputs, rendered pages or ``pytest --nbval``:

1. ``set_enabled(True | False)`` in the session (a notebook-wide switch), else
2. the environment variable ``EICORE_PROGRESS``: ``1``/``on`` or ``0``/``off``
   (``make book``, ``make test`` and CI set ``EICORE_PROGRESS=0``), else
3. on when someone is watching: standard error is a terminal, or the kernel was
   started by a Jupyter server (JupyterLab, Notebook, VS Code set ``JPY_SESSION_NAME``);
   off under ``jupyter-book build``, nbclient, nbconvert and nbval, which start bare
   kernels.

A disabled bar is a real :class:`tqdm` object with ``disable=True``: it counts, but it
writes nothing, so a cell's output holds only what the chapter prints. Passing
``disable=`` explicitly still wins.

``tqdm.auto`` warns ("IProgress not found") at import time when ipywidgets is missing,
and that warning would land in a chapter's output with a machine-specific path; it is
imported here with the warning silenced (tqdm then falls back to its text bar).
"""

from __future__ import annotations

import os
import sys
import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="IProgress not found")
    from tqdm.auto import tqdm as _auto_tqdm

__all__ = ["enabled", "set_enabled", "tqdm", "trange"]

ENV = "EICORE_PROGRESS"
_ON = ("1", "on", "true", "yes")
_OFF = ("0", "off", "false", "no")
_override: bool | None = None


def set_enabled(value: bool | None) -> None:
    """Turn progress bars on or off for this process (``None``: back to the default)."""
    global _override
    _override = None if value is None else bool(value)


def _from_env() -> bool | None:
    v = os.environ.get(ENV, "").strip().lower()
    if v in _ON:
        return True
    if v in _OFF:
        return False
    if v:
        raise ValueError(f"{ENV}={v!r}: use 1/on or 0/off")
    return None


def _interactive() -> bool:
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):  # closed or replaced stream
        pass
    # A kernel that a Jupyter server started for a notebook a person has open; kernels
    # started by nbclient / nbconvert / nbval / jupyter-book have no session name.
    return bool(os.environ.get("JPY_SESSION_NAME")) and "ipykernel" in sys.modules


def enabled() -> bool:
    """Whether new progress bars are drawn (see the module docstring for the order)."""
    if _override is not None:
        return _override
    env = _from_env()
    if env is not None:
        return env
    return _interactive()


class tqdm(_auto_tqdm):  # noqa: N801  (the tqdm API)
    """``tqdm.auto.tqdm`` that draws nothing unless :func:`enabled` (or ``disable=False``)."""

    def __init__(self, *args, **kwargs):
        if kwargs.get("disable") is None:
            kwargs["disable"] = not enabled()
        super().__init__(*args, **kwargs)


def trange(*args, **kwargs) -> tqdm:
    """``tqdm(range(*args), **kwargs)``."""
    return tqdm(range(*args), **kwargs)
