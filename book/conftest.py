"""pytest configuration for ``pytest --nbval book``.

nbval executes cells with ``store_history=False``. IPython then cannot see a
trailing ``;`` on a cell's last line (it looks the line up in the history), so
``ax.set_title(...);`` would print a ``Text(...)`` repr under nbval but not in
Jupyter or in ``jupyter-book build``. Executing with history, as Jupyter does,
makes nbval see exactly the outputs that the stored notebooks hold.
"""

from __future__ import annotations

from nbval.kernel import RunningKernel


def _execute_with_history(self, cell_input, allow_stdin=None):
    return self.kc.execute(
        cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False
    )


RunningKernel.execute_cell_input = _execute_with_history
