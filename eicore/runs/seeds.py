"""Seed offsets: the whole book on other networks (``EICORE_SEED_OFFSET``).

Every registered experiment of the three parts takes its ``seed`` axis from
:func:`seed_values`, so that ``EICORE_SEED_OFFSET=k`` shifts every seed by ``k``: the chapters
then show the same figures and checks on other networks, other noise and other stimulus
draws (``scripts/seed_audit.py`` runs the chapters so). The paper-scale results committed
with the book are fixed runs: :func:`no_seed_offset` loads them whatever the offset.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator

from ..errors import ConfigurationError

__all__ = ["seed_offset", "seed_values", "no_seed_offset"]

_FIXED = [0]  # > 0 inside no_seed_offset()


def seed_offset() -> int:
    """``EICORE_SEED_OFFSET`` (default 0), the shift added to every value of a ``seed`` axis;
    0 inside :func:`no_seed_offset`."""
    if _FIXED[0]:
        return 0
    raw = os.environ.get("EICORE_SEED_OFFSET", "0").strip() or "0"
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"EICORE_SEED_OFFSET must be an integer, got {raw!r}") from None


def seed_values(seeds: int | Iterable[int]) -> list[int]:
    """The ``seed`` axis of a preset: ``seeds`` an int ``n`` gives ``offset, ...,
    offset + n - 1``; a list of seeds gives each plus the offset (:func:`seed_offset`)."""
    o = seed_offset()
    if isinstance(seeds, Iterable):
        return [int(v) + o for v in seeds]
    return list(range(o, o + int(seeds)))


@contextlib.contextmanager
def no_seed_offset() -> Iterator[None]:
    """Within the block the seed axes are unshifted (the committed paper-scale results)."""
    _FIXED[0] += 1
    try:
        yield
    finally:
        _FIXED[0] -= 1
