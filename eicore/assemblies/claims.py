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

__all__ = ["LABELS", "PAPER", "after_measures", "angles_by_trial", "before_measures", "compare",
           "condition_measures", "homeostatic_loss", "measure", "modulation"]

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


def modulation(sw: Any, b: int) -> float:
    """Stimulus modulation of the inhibitory current onto Pyr cells of network ``b``: std /
    mean over stimuli, median over cells (Fig 3d: flat in the input knock-out)."""
    inh = to_numpy(sw.inh[b])
    return float(host.median(inh.std(axis=0) / inh.mean(axis=0)))


def _median(x: Any) -> float:
    return float(host.median(to_numpy(x)))


def before_measures(res: dict[str, Any], b: int, *, rho0: float = 1.0) -> dict[str, float]:
    """The measures of network ``b`` of a :func:`trained_conditions` result before learning:
    ``sel_E_before``/``sel_I_before`` (median skewness, Eq 6), ``cotuning_before`` (median
    E/I current similarity), ``loss_before`` (Eq 3) and ``modulation_before``
    (:func:`modulation`). Every condition of a seed starts from the same network, so one
    call serves them all."""
    sw0, NE = res["sweep_before"], res["before"].NE
    gE0, gI0 = selectivity(sw0, b)
    return dict(sel_E_before=_median(gE0), sel_I_before=_median(gI0),
                cotuning_before=_median(current_similarity(sw0, b)),
                loss_before=homeostatic_loss(sw0, b, NE, rho0),
                modulation_before=modulation(sw0, b))


def after_measures(res: dict[str, Any], b: int, *, before: int | None = None, n: int = 100,
                   repeats: int = 10000, alpha: float = 0.01, theta: float = 1e-4,
                   rho0: float = 1.0) -> dict[str, float]:
    """The measures of network ``b`` of a :func:`trained_conditions` result after learning.

    Keys: ``sel_E``/``sel_I`` (median skewness, Eq 6), ``U``/``p`` (Mann-Whitney test of PV
    selectivity against network ``before`` before learning, default ``b``), ``cotuning``
    (median E/I current similarity), ``loss`` (Eq 3), ``modulation`` (:func:`modulation`);
    ``frac_<correlation>`` (fraction of the ``repeats`` samples of ``n`` synapses with a
    significant positive Pearson r, Figs 1e, 2f, 3e) and ``ge_<correlation>`` where the
    paper gives a reference r (the fraction at or above it).
    """
    before = b if before is None else before
    sw1, NE = res["sweep_after"], res["before"].NE
    gI0 = selectivity(res["sweep_before"], before)[1]
    gE1, gI1 = selectivity(sw1, b)
    U, p = mann_whitney(gI0, gI1)
    out = dict(sel_E=_median(gE1), sel_I=_median(gI1), U=float(U), p=float(p),
               cotuning=_median(current_similarity(sw1, b)),
               loss=homeostatic_loss(sw1, b, NE, rho0), modulation=modulation(sw1, b))
    fr = sampling_fractions(res["after"], sw1, b, n=n, repeats=repeats, alpha=alpha, theta=theta)
    for k, v in fr.items():
        out[f"frac_{k}"] = float(v["frac_significant"])
        if v.get("frac_ge_ref") is not None:
            out[f"ge_{k}"] = float(v["frac_ge_ref"])
    return out


def condition_measures(res: dict[str, Any], b: int, *, before: int | None = None, n: int = 100,
                       repeats: int = 10000, alpha: float = 0.01, theta: float = 1e-4,
                       rho0: float = 1.0) -> dict[str, float]:
    """:func:`before_measures` of network ``before`` (default ``b``) and
    :func:`after_measures` of network ``b``, in one dict. Both :func:`measure` and
    :func:`eicore.assemblies.summary.quantities` are built on these two."""
    before = b if before is None else before
    return {**before_measures(res, before, rho0=rho0),
            **after_measures(res, b, before=before, n=n, repeats=repeats, alpha=alpha,
                             theta=theta, rho0=rho0)}


def measure(res: dict[str, Any], condition: str, *, n: int = 100, repeats: int = 10000,
            alpha: float = 0.01, theta: float = 1e-4, rho0: float = 1.0) -> dict[str, float]:
    """Every Fig 1-3 measure of one ``condition`` of a :func:`trained_conditions` result.

    Keys: ``loss_before``/``loss_after`` (Eq 3), ``sel_E_*``/``sel_I_*`` (median skewness,
    Eq 6), ``U``/``p_selectivity`` (Mann-Whitney test of PV selectivity before vs after),
    ``cotuning_*`` (median E/I current similarity), ``r2_*`` (Fig 4-S1a, E[R^2] of Pyr RF
    correlations), ``frac_<correlation>`` (fraction of the ``repeats`` samples of ``n``
    synapses with a significant positive Pearson r, Figs 2f/3e) and, where the angles were
    recorded, ``angle_IE_first``/``angle_IE_last`` (median update-to-gradient angle, Fig 1g,
    in the first and the last trial; the same for ``EI``). The condition's own network
    before learning is the reference (:func:`condition_measures`).
    """
    b = res["conditions"].index(condition)
    sw0, sw1 = res["sweep_before"], res["sweep_after"]
    m = condition_measures(res, b, n=n, repeats=repeats, alpha=alpha, theta=theta, rho0=rho0)
    out = dict(loss_before=m["loss_before"], loss_after=m["loss"],
               sel_E_before=m["sel_E_before"], sel_E_after=m["sel_E"],
               sel_I_before=m["sel_I_before"], sel_I_after=m["sel_I"],
               U=m["U"], p_selectivity=m["p"],
               cotuning_before=m["cotuning_before"], cotuning_after=m["cotuning"],
               r2_before=expected_r2(sw0.rE[b]), r2_after=expected_r2(sw1.rE[b]))
    out.update({k: v for k, v in m.items() if k.startswith("frac_")})
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
