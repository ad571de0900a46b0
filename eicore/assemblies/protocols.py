"""Registered experiments of this part (see :mod:`eicore.runs`)."""

from __future__ import annotations
