"""The training supplements of Fig 1 (chapter ``04_fig1_supplements``): convergence of the
loss (Fig 1-S1), the angle between local update and gradient in every trial (Fig 1-S4)
and the learned weight distributions (Fig 1-S5).

Each function draws on axes it is given and leaves scales, limits and legends to the
caller, so the same drawing serves the short ``ci`` runs and the 500-trial runs of the
paper's protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...backend import host as np
from ...backend import to_numpy
from ...plotting import CONDITION_COLORS, PALETTE
from ..analysis import existing_weights, share_below
from ..experiment import CONDITIONS

__all__ = ["MATRIX_TITLES", "loss_per_trial", "angles_per_trial", "weight_distributions"]

#: The two plastic matrices: ``IE`` Pyr -> PV (input of the PV cells), ``EI`` PV -> Pyr (output).
MATRIX_TITLES = {"IE": "Pyr→PV (input)", "EI": "PV→Pyr (output)"}


def _label(c: str, names: Mapping[str, str] | None) -> str:
    return (names or {}).get(c, c)


def loss_per_trial(ax, history, conditions: Sequence[str], names: Mapping[str, str] | None = None,
                   scale: float = 1.0, **style) -> None:
    """Fig 1-S1: the loss of Eq 3 (mean over the stimuli of a trial) against the trial, one
    line per network of the batch (``history.loss (B, trials)``), divided by ``scale``."""
    loss = np.asarray(history.loss, dtype=float)
    trials = np.arange(1, loss.shape[1] + 1)
    for b, c in enumerate(conditions):
        ax.plot(trials, loss[b] / scale, color=CONDITION_COLORS[c], label=_label(c, names), **style)


def angles_per_trial(axes, history, conditions: Sequence[str],
                     names: Mapping[str, str] | None = None, **style) -> None:
    """Fig 1-S4: the median angle (Eq 7) between local update and gradient in every trial,
    on ``axes[0]`` for the input matrix (Pyr -> PV), on ``axes[1]`` for the output matrix
    (PV -> Pyr), each only for the conditions in which that matrix is plastic; a dotted
    line marks 90 degrees (above it the local update would climb the loss)."""
    medians = (np.asarray(history.angle_IE_median), np.asarray(history.angle_EI_median))
    trials = np.arange(1, medians[0].shape[1] + 1)
    for b, c in enumerate(conditions):
        for ax, med, on in zip(axes, medians, CONDITIONS[c]):
            if on:
                ax.plot(trials, med[b], color=CONDITION_COLORS[c], label=_label(c, names), **style)
    for ax, title in zip(axes, MATRIX_TITLES.values()):
        ax.axhline(90, color=PALETTE["black"], ls=":")
        ax.set(xlabel="trial", title=title)


def weight_distributions(axes, before, after, b: int, bins, theta: float = 1e-4,
                         after_label: str = "after") -> dict[str, dict[str, Any]]:
    """Fig 1-S5: histograms of the log10 weights of network ``b``, PV -> Pyr on ``axes[0]``
    and Pyr -> PV on ``axes[1]``, before learning (all nonzero weights) and after (the
    synapses that exist, ``z > 0``), with the detection threshold ``theta`` of the sampling
    tests dotted. Returns, per matrix (``"EI"``, ``"IE"``), the fraction of synapses below
    ``theta`` (``below``), the centre of the fullest bin (``mode``, log10), the fraction
    above 1e-2 (``upper``) and the largest weight (``max``)."""
    bins = np.asarray(bins, dtype=float)
    stats = {}
    for ax, name in zip(axes, ("EI", "IE")):
        w = existing_weights(after, b, name)
        w0 = to_numpy(getattr(before, f"W_{name}"))[b]
        lw = np.log10(np.maximum(w, 1e-12))
        ax.hist(np.log10(w0[w0 > 0]), bins=bins, histtype="step", color=CONDITION_COLORS["before"],
                label="before")
        ax.hist(lw, bins=bins, histtype="step", color=CONDITION_COLORS["after"], label=after_label)
        ax.axvline(np.log10(theta), color=PALETTE["black"], ls=":",
                   label=rf"$\theta = 10^{{{np.log10(theta):g}}}$")
        ax.set(xlabel="log10 weight", title=MATRIX_TITLES[name].split(" ")[0])
        counts, edges = np.histogram(lw, bins=bins)
        k = int(np.argmax(counts))
        stats[name] = dict(below=share_below(after, b, name, theta),
                           mode=float((edges[k] + edges[k + 1]) / 2),
                           upper=float(np.mean(lw > -2)), max=float(w.max()))
    return stats
