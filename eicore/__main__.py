"""``python -m eicore``: the ``eicore`` command line (see :mod:`eicore.runs.cli`)."""

import sys

from eicore.runs.cli import main

sys.exit(main())
