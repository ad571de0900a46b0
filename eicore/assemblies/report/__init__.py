"""Figures of Part I that are drawn from training runs, whether run in a chapter or loaded
from the stored paper-scale results (:mod:`eicore.assemblies.report.figures`).

Kept apart from the simulation modules, so that changing a drawing does not make the
stored results or the checkpoints of the registered experiments stale.
"""

from .figures import angles_per_trial, loss_per_trial, weight_distributions

__all__ = ["angles_per_trial", "loss_per_trial", "weight_distributions"]
