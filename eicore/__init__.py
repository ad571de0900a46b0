"""eicore: how inhibitory circuits learn.

A small, tested core behind an executable Jupyter Book that reimplements

* Mackwood, Naumann & Sprekeler (eLife 2021), E/I assemblies  -> :mod:`eicore.assemblies`
* Rossbroich & Zenke (NeurIPS 2023), dis-inhibitory control   -> :mod:`eicore.disinhibition`
* Mikulasch, Rudelt & Priesemann (PNAS 2021), dendritic balance -> :mod:`eicore.dendritic`

Shared pieces: :mod:`eicore.backend` (NumPy/CuPy switch), :mod:`eicore.scale`
(``ci``/``full`` presets), :mod:`eicore.datasets`, :mod:`eicore.measures`.
"""

from __future__ import annotations

import sys as _sys

from . import backend, errors, scale
from .backend import get_xp, rng, to_numpy
from .errors import EicoreError
from .scale import Preset, current_scale

__version__ = "0.1.0"

__all__ = [
    "EicoreError",
    "Preset",
    "__version__",
    "backend",
    "current_scale",
    "errors",
    "get_xp",
    "rng",
    "scale",
    "to_numpy",
]


def _excepthook(exc_type, exc, tb, _previous=_sys.excepthook):
    """Uncaught eicore errors in a script print one clear line, not a traceback.

    Set ``EICORE_TRACEBACK=1`` to see the full traceback. Other exceptions and
    interactive shells (IPython/Jupyter have their own hook) are unaffected.
    """
    import os

    if issubclass(exc_type, EicoreError) and os.environ.get("EICORE_TRACEBACK") != "1":
        print(f"eicore: {exc_type.__name__}: {exc}", file=_sys.stderr)
        return
    _previous(exc_type, exc, tb)


if _sys.excepthook is _sys.__excepthook__:
    _sys.excepthook = _excepthook
