"""The measures behind Part I's claims, taken from one trained condition at once.

Mackwood et al. (2021), Figs 1-3, 1-S2 to 3-S2 and 4-S1a. The chapters' paper-scale
sections and the summary (chapter ``08_summary``) call :func:`measure` on the networks of
:func:`eicore.assemblies.trained_conditions` and compare the numbers with the paper's
(:data:`PAPER`). All numbers are host floats.
"""

from __future__ import annotations

from typing import Any

from ..backend import host, to_numpy
from ..measures import expected_r2, mann_whitney
from .analysis import current_similarity, sampling_fractions, selectivity

__all__ = ["LABELS", "PAPER", "angles_by_trial", "compare", "homeostatic_loss", "measure"]

#: The paper's numbers where its text gives them (condition -> measure -> value).
PAPER = {
    "plastic": {"frac_output_vs_rs": 1.0, "frac_input_vs_rs": 1.0,
                "frac_input_vs_output": 1.0, "r2_before": 0.06, "r2_after": 0.02},
    "output_ko": {"U": 1207.0, "p_selectivity": 1e-4, "frac_input_vs_rs": 0.99,
                  "frac_input_vs_output": 0.02, "frac_output_vs_rs": 1e-4},
    "input_ko_heavy": {"frac_input_vs_rs": 0.5},
}


#: What each measure of :func:`measure` is, for tables.
LABELS = {
    "loss_before": "loss before (Eq 3, Hz²)",
    "loss_after": "loss after (Eq 3, Hz²)",
    "sel_E_before": "Pyr selectivity before (median)",
    "sel_E_after": "Pyr selectivity after (median)",
    "sel_I_before": "PV selectivity before (median)",
    "sel_I_after": "PV selectivity after (median)",
    "U": "Mann-Whitney U, PV selectivity",
    "p_selectivity": "p, PV selectivity before vs after",
    "cotuning_before": "E/I current co-tuning before (median)",
    "cotuning_after": "E/I current co-tuning after (median)",
    "r2_before": "E[R²] of Pyr RFs before",
    "r2_after": "E[R²] of Pyr RFs after",
    "frac_output_vs_rs": "significant samples: PV→Pyr weight vs RS",
    "frac_input_vs_rs": "significant samples: Pyr→PV weight vs RS",
    "frac_input_vs_output": "significant samples: Pyr→PV vs PV→Pyr weight",
    "angle_IE_first": "angle to gradient, Pyr→PV, first trial (deg)",
    "angle_IE_last": "angle to gradient, Pyr→PV, last trial (deg)",
    "angle_EI_first": "angle to gradient, PV→Pyr, first trial (deg)",
    "angle_EI_last": "angle to gradient, PV→Pyr, last trial (deg)",
}


def compare(columns: dict[str, dict[str, float]], condition: str | None = None,
            keys: list[str] | None = None):
    """A :class:`pandas.DataFrame` of measures (rows) by source (columns, e.g. ``ci`` and
    ``full`` results of :func:`measure`), with the paper's value for ``condition`` where
    its text gives one."""
    import pandas as pd

    keys = keys or [k for k in LABELS if any(k in c for c in columns.values())]
    paper = PAPER.get(condition, {}) if condition else {}

    def fmt(v):
        if v is None:
            return ""
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.2g}" if abs(v) < 1e-2 else f"{v:.3g}"

    rows = {LABELS[k]: {**{name: fmt(c.get(k)) for name, c in columns.items()},
                        "paper": fmt(paper.get(k))} for k in keys}
    return pd.DataFrame.from_dict(rows, orient="index")


def homeostatic_loss(sw: Any, b: int, NE: int, rho0: float) -> float:
    """Eq 3 per stimulus, ``0.5 * sum_j (h_j - rho0)^2`` over Pyr cells, averaged over the
    stimuli of the sweep (Hz^2)."""
    h = to_numpy(sw.h[b])[:, :NE]
    return float(host.mean(0.5 * host.sum((h - rho0) ** 2, axis=1)))


def measure(res: dict[str, Any], condition: str, *, n: int = 100, repeats: int = 10000,
            alpha: float = 0.01, theta: float = 1e-4, rho0: float = 1.0) -> dict[str, float]:
    """Every Fig 1-3 measure of one ``condition`` of a :func:`trained_conditions` result.

    Keys: ``loss_before``/``loss_after`` (Eq 3), ``sel_E_*``/``sel_I_*`` (median skewness,
    Eq 6), ``U``/``p_selectivity`` (Mann-Whitney test of PV selectivity before vs after),
    ``cotuning_*`` (median E/I current similarity), ``r2_*`` (Fig 4-S1a, E[R^2] of Pyr RF
    correlations), ``frac_<correlation>`` (fraction of the ``repeats`` samples of ``n``
    synapses with a significant positive Pearson r, Figs 2f/3e) and, where the angles were
    recorded, ``angle_IE_first``/``angle_IE_last`` (median update-to-gradient angle, Fig 1g,
    in the first and the last trial; the same for ``EI``).
    """
    b = res["conditions"].index(condition)
    before, after = res["before"], res["after"]
    sw0, sw1 = res["sweep_before"], res["sweep_after"]
    gE0, gI0 = selectivity(sw0, b)
    gE1, gI1 = selectivity(sw1, b)
    U, p = mann_whitney(gI0, gI1)
    out = dict(
        loss_before=homeostatic_loss(sw0, b, before.NE, rho0),
        loss_after=homeostatic_loss(sw1, b, before.NE, rho0),
        sel_E_before=float(host.median(gE0)), sel_E_after=float(host.median(gE1)),
        sel_I_before=float(host.median(gI0)), sel_I_after=float(host.median(gI1)),
        U=float(U), p_selectivity=float(p),
        cotuning_before=float(host.median(current_similarity(sw0, b))),
        cotuning_after=float(host.median(current_similarity(sw1, b))),
        r2_before=expected_r2(sw0.rE[b]), r2_after=expected_r2(sw1.rE[b]),
    )
    fr = sampling_fractions(after, sw1, b, n=n, repeats=repeats, alpha=alpha, theta=theta)
    out.update({f"frac_{k}": float(v["frac_significant"]) for k, v in fr.items()})
    h = res["history"]
    if getattr(h, "angle_IE", None) is not None and h.presentation is not None \
            and len(h.presentation):
        S = sw1.rE.shape[1]
        trial = to_numpy(h.presentation) // S
        last = trial >= trial.max()
        for name in ("IE", "EI"):
            A = to_numpy(getattr(h, f"angle_{name}"))[b]
            out[f"angle_{name}_first"] = float(host.median(A[trial == 0]))
            out[f"angle_{name}_last"] = float(host.median(A[last]))
    return out


def angles_by_trial(res: dict[str, Any], condition: str) -> dict[str, Any]:
    """Fig 1g over the whole training: the median update-to-gradient angle (degrees) of the
    recorded presentations of each trial, ``dict(trial, IE, EI)`` (trials without a
    recorded presentation are left out)."""
    b = res["conditions"].index(condition)
    h = res["history"]
    S = res["sweep_after"].rE.shape[1]
    trial = to_numpy(h.presentation) // S
    trials = host.unique(trial)
    out = {"trial": trials}
    for name in ("IE", "EI"):
        A = to_numpy(getattr(h, f"angle_{name}"))[b]
        out[name] = host.asarray([host.median(A[trial == t]) for t in trials])
    return out
