"""Progress bars for long runs, the same in a terminal, in Jupyter and under nbval.

``tqdm.auto`` warns ("IProgress not found") at import time when ipywidgets is
missing, and that warning lands in a chapter's stored output with a path that
differs from machine to machine. This module imports it with the warning
silenced (tqdm then falls back to its text bar). Use::

    from eicore.progress import tqdm
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="IProgress not found")
    from tqdm.auto import tqdm, trange

__all__ = ["tqdm", "trange"]
