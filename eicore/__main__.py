"""``python -m eicore``: the ``eicore`` command line (see :mod:`eicore.runs.cli`)."""

from eicore.runs.cli import _entry

_entry()
