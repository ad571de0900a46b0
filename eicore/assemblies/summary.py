"""Part I's claims as table rows: the paper's statement, ours over seeds, a criterion, a verdict.

Mackwood et al. (2021), Figs 1-4 and their supplements; chapter ``08_summary``.
:func:`quantities` measures one seed (every number a claim needs, from the results of
:func:`eicore.assemblies.trained_conditions` and, where run, the gradient rules and the
perturbation experiment); :func:`claim_rows` states each claim over the seeds given: the
median [interquartile range] of its quantities, whether the criterion holds for the medians,
the fraction of seeds for which it holds, and the verdict of :func:`eicore.claims.verdict_of`.
The same rows are computed from the ``ci`` runs of the chapters (five seeds) and from the
paper-scale runs that come with the book (one seed, judged by the same rules), so the two
columns of the summary use one set of criteria. A row whose inputs were not run (a
condition, the gradient rules, the perturbation experiment) has verdict *not run yet*.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ..backend import host, to_numpy
from ..claims import med_iqr, verdict_of
from ..measures import expected_r2, mann_whitney
from .analysis import (
    current_similarity,
    output_weight_vs_influence,
    sampling_fractions,
    selectivity,
    share_below,
)
from .claims import after_measures, before_measures
from .presets import NETWORK

__all__ = ["NOT_RUN", "PARTLY", "Held", "claim_rows", "holds", "label", "over_seeds",
           "quantities", "spread", "verdict"]

#: A criterion met in part (e.g. significant, but the statistic far from the paper's).
PARTLY = "partly"
#: The verdict of a claim whose run is missing.
NOT_RUN = "not run yet"

P, O, K, H = "plastic", "output_ko", "input_ko", "input_ko_heavy"


def verdict(row: dict[str, Any]) -> str:
    """The verdict of a row of :func:`claim_rows` (*reproduced*, *partly*, *not
    reproduced* or *not run yet*)."""
    return row["verdict"]


def _full(ok: Any) -> bool:
    """A criterion's result met in full (not :data:`PARTLY`)."""
    return not isinstance(ok, str) and bool(ok)


# The order of the quantities of one condition (the columns of :func:`over_seeds`).
_BEFORE = ("sel_I", "sel_E", "cotuning", "loss", "modulation")
_AFTER = ("sel_I", "sel_E", "U", "p", "cotuning", "loss", "modulation")


def quantities(local: dict[str, Any], gradient: dict[str, Any] | None = None,
               perturb: dict[str, Any] | None = None, *, n: int = 100, repeats: int = 10000,
               alpha: float = 0.01, theta: float = 1e-4) -> dict[str, float]:
    """Every number of one seed that a claim of :func:`claim_rows` needs, by name
    (``<condition>.<measure>``; ``grad.*`` for the gradient rules, ``perturb.*`` for Fig 4).

    ``local`` is a :func:`trained_conditions` result of the local rules (any subset of its
    conditions), ``gradient`` the gradient rules' and ``perturb`` a
    :func:`perturbation_experiment` result of the same seed. Selectivity (Eq 6) and current
    co-tuning are medians over cells; ``frac_*`` are fractions of the ``repeats`` samples of
    ``n`` synapses with a significant positive correlation (Figs 1e, 2f, 3e), ``ge_*`` those
    at or above the paper's reference r; ``modulation`` is the stimulus modulation of the
    inhibitory current (std / mean over stimuli, median over Pyr cells); ``perturb.top``
    the mean influence in the three highest bins of RF correlation (Fig 4d).
    """
    C = list(local["conditions"])
    sw0, sw1 = local["sweep_before"], local["sweep_after"]
    ref = C.index(P) if P in C else 0  # before learning: any condition of the seed
    rho0 = float(NETWORK.get().rho0)  # the same at every scale
    # the same network before learning for every condition
    m0 = before_measures(local, ref, rho0=rho0)
    q: dict[str, float] = {f"{k}_before": m0[f"{k}_before"] for k in _BEFORE}
    for b, c in enumerate(C):
        th = theta
        if c == H:  # detection threshold relative to the heavy-tailed weights (Fig 3-S2d)
            th = float(host.max(to_numpy(local["before"].W_IE)[b])) * 1e-2
        m = after_measures(local, b, before=ref, n=n, repeats=repeats, alpha=alpha,
                           theta=th, rho0=rho0)
        q.update({f"{c}.{k}": m[k] for k in _AFTER})
        for name in ("IE", "EI"):  # Fig 1-S5: existing synapses below the threshold theta
            q[f"{c}.below_{name}"] = share_below(local["after"], b, name, theta)
        q.update({f"{c}.{k}": v for k, v in m.items() if k.startswith(("frac_", "ge_"))})
    if P in C:
        h, iP = local["history"], C.index(P)
        for name in ("IE", "EI"):
            A = to_numpy(getattr(h, f"angle_{name}_median"))[iP]
            q[f"plastic.angle_{name}_first"], q[f"plastic.angle_{name}_last"] = \
                float(A[0]), float(A[-1])
        if perturb is None:  # Fig 4-S1a from the trained network's own sweeps
            q["r2_before"] = expected_r2(sw0.rE[iP])
            q["r2_after"] = expected_r2(sw1.rE[iP])
    if gradient is not None:
        gs0, gs1 = gradient["sweep_before"], gradient["sweep_after"]
        gG0 = selectivity(gs0, 0)[1]
        q["grad.sel_I_before"] = float(host.median(gG0))
        for b, c in enumerate(gradient["conditions"]):
            gG = selectivity(gs1, b)[1]
            q[f"grad.{c}.sel_I"] = float(host.median(gG))
            q[f"grad.{c}.p"] = float(mann_whitney(gG0, gG)[1])
            q[f"grad.{c}.cotuning"] = float(host.median(current_similarity(gs1, b)))
            if c == P:
                fr = sampling_fractions(gradient["after"], gs1, b, n=n, repeats=repeats,
                                        alpha=alpha, theta=theta)
                q.update({f"grad.{c}.frac_{k}": float(v["frac_significant"])
                          for k, v in fr.items()})
    if perturb is not None:
        curves = perturb["curves"]
        for name, cv in curves.items():
            q[f"perturb.{name}.slope"] = float(cv["slope"])
        mono = curves[P]["mean"][curves[P]["count"] > 0]
        q["perturb.rises"] = float(host.sum(host.diff(mono) > 0))
        q["perturb.steps"] = float(len(mono) - 1)
        q["perturb.top"] = float(host.nanmean(curves[P]["mean"][-3:]))  # the 3 highest bins
        names = list(perturb["names"])
        q["r2_before"] = expected_r2(perturb["rE"][names.index("before")])
        q["r2_after"] = expected_r2(perturb["rE"][names.index(P)])
        k = names.index(P)
        _, _, r_out = output_weight_vs_influence(
            perturb["W_IE"][k], perturb["influence_mean"][k][:, None], perturb["cells"])
        q["perturb.r_out"] = float(r_out)
    return q


_NAMES = {P: "plastic", O: "output-KO", K: "input-KO", H: "heavy-tailed input-KO",
          "before": "before learning"}
_CORR = {"output_vs_rs": "PV→Pyr weight vs RS", "input_vs_rs": "Pyr→PV weight vs RS",
         "input_vs_output": "Pyr→PV vs PV→Pyr weight"}
_MEASURES = {
    "sel_I": "PV selectivity (median skewness)", "sel_E": "Pyr selectivity (median skewness)",
    "U": "Mann-Whitney U, PV selectivity vs before",
    "p": "Mann-Whitney p, PV selectivity vs before",
    "cotuning": "E/I current co-tuning (median r)", "loss": "loss (Eq 3, Hz²)",
    "modulation": "stimulus modulation of inhibition (std/mean)",
    "angle_IE_first": "angle to gradient, Pyr→PV, first trial (deg)",
    "angle_IE_last": "angle to gradient, Pyr→PV, last trial (deg)",
    "angle_EI_first": "angle to gradient, PV→Pyr, first trial (deg)",
    "angle_EI_last": "angle to gradient, PV→Pyr, last trial (deg)",
    "slope": "influence vs RF correlation, slope (Fig 4d)",
    "top": "mean influence, three highest RF-correlation bins",
    "rises": "bin-to-bin rises of the influence curve", "steps": "bin-to-bin steps",
    "r_out": "total output weight vs influence, r (Fig 4e)",
    "r2_before": "E[R²] of Pyr RFs, before learning",
    "r2_after": "E[R²] of Pyr RFs, after learning",
}


def label(key: str) -> str:
    """A quantity of :func:`quantities` in words, e.g. ``"output_ko.frac_input_vs_rs"`` ->
    ``"output-KO: significant samples, Pyr→PV weight vs RS"``."""
    parts = key.split(".")
    tail, who = parts[-1], parts[:-1]
    if tail.endswith("_before") and tail[:-7] in _MEASURES:
        tail, who = tail[:-7], who + ["before"]
    if tail.startswith("frac_"):
        what = f"significant samples, {_CORR[tail[5:]]}"
    elif tail.startswith("ge_"):
        what = f"samples with r at or above the paper's, {_CORR[tail[3:]]}"
    else:
        what = _MEASURES.get(tail, tail)
    names = [{"grad": "gradient rules", "perturb": "Fig 4"}.get(w, _NAMES.get(w, w))
             for w in who]
    return ", ".join(names) + ": " + what if names else what


def _number(key: str, v: float) -> str:
    """A quantity formatted by its kind (fractions in %, angles in degrees, ...)."""
    tail = key.rsplit(".", 1)[-1]
    if tail.startswith(("frac_", "below_")):
        return f"{100 * v:.1f}%"
    if tail.startswith("ge_"):
        return f"{100 * v:.2f}%"
    if "angle" in tail:
        return f"{v:.0f}"
    if tail == "p":
        return f"{v:.0e}"
    if tail in ("U", "rises", "steps"):
        return f"{v:.0f}"
    if tail == "slope":
        return f"{v:+.4f}"
    if tail.startswith("r2"):
        return f"{v:.3f}"
    return f"{v:.2f}"


# One claim: figure, claim, the paper's value, criterion, quantities it needs, how its value
# reads (from a formatter of one quantity: median, with [IQR] over several seeds), and its
# criterion on a dict of quantities (True, False or PARTLY).
_Row = tuple[str, str, str, str, Sequence[str], Callable[[Callable[[str], str]], str],
             Callable[[dict[str, float]], Any]]


def _rows() -> list[_Row]:
    rows: list[_Row] = [
        ("1c", "PV selectivity rises (median)", "rises, < Pyr", "Mann-Whitney p < 0.01",
         ["sel_I_before", "plastic.sel_I", "plastic.p"],
         lambda v: f"{v('sel_I_before')} -> {v('plastic.sel_I')} (p={v('plastic.p')})",
         lambda q: q["plastic.p"] < 0.01 and q["plastic.sel_I"] > q["sel_I_before"]),
    ]
    for k, name in (("output_vs_rs", "output-vs-RS"), ("input_vs_rs", "input-vs-RS"),
                    ("input_vs_output", "input-vs-output")):
        rows.append(("1e/2f", f"plastic: {name} significant", "100%", ">= 90% of samples",
                     [f"plastic.frac_{k}"], lambda v, k=k: v(f"plastic.frac_{k}"),
                     lambda q, k=k: q[f"plastic.frac_{k}"] >= 0.9))
    rows += [
        ("1f/1-S3", "E/I current co-tuning (median corr.)", "flat -> co-tuned",
         "median rises by > 0.3", ["cotuning_before", "plastic.cotuning"],
         lambda v: f"{v('cotuning_before')} -> {v('plastic.cotuning')}",
         lambda q: q["plastic.cotuning"] > q["cotuning_before"] + 0.3),
        ("1g", "angle local vs gradient, input (end)", "< 90 deg",
         "< 90 deg in the last trial", ["plastic.angle_IE_last"],
         lambda v: f"{v('plastic.angle_IE_last')} deg",
         lambda q: q["plastic.angle_IE_last"] < 90),
        ("1g", "angle local vs gradient, output (end)", "< 90 deg",
         "< 90 deg in the last trial", ["plastic.angle_EI_last"],
         lambda v: f"{v('plastic.angle_EI_last')} deg",
         lambda q: q["plastic.angle_EI_last"] < 90),
        ("1g", "input angle shrinks during learning", "yes", "last trial below first",
         ["plastic.angle_IE_first", "plastic.angle_IE_last"],
         lambda v: f"{v('plastic.angle_IE_first')} -> {v('plastic.angle_IE_last')} deg",
         lambda q: q["plastic.angle_IE_last"] < q["plastic.angle_IE_first"]),
        ("2b", "output-KO: PV selectivity rises (Mann-Whitney)", "U=1207, p<1e-4",
         "p < 1e-4; U within 600-2400", ["output_ko.U", "output_ko.p"],
         lambda v: f"U={v('output_ko.U')}, p={v('output_ko.p')}",
         lambda q: q["output_ko.p"] < 1e-4 and (True if 600 < q["output_ko.U"] < 2400
                                                else PARTLY)),
        ("2b", "output-KO: rise much weaker than plastic", "yes", "median below plastic's",
         ["output_ko.sel_I", "plastic.sel_I"],
         lambda v: f"{v('output_ko.sel_I')} vs {v('plastic.sel_I')}",
         lambda q: q["output_ko.sel_I"] < q["plastic.sel_I"]),
        ("2f", "output-KO: input-vs-RS significant", "99%", ">= 80% of samples",
         ["output_ko.frac_input_vs_rs"], lambda v: v("output_ko.frac_input_vs_rs"),
         lambda q: q["output_ko.frac_input_vs_rs"] >= 0.8),
        ("2f", "output-KO: input-vs-output significant", "2%", "<= 10% of samples",
         ["output_ko.frac_input_vs_output"], lambda v: v("output_ko.frac_input_vs_output"),
         lambda q: q["output_ko.frac_input_vs_output"] <= 0.1),
        ("2f", "output-KO: output-vs-RS significant", "<0.01%", "<= 5% of samples",
         ["output_ko.frac_output_vs_rs"], lambda v: v("output_ko.frac_output_vs_rs"),
         lambda q: q["output_ko.frac_output_vs_rs"] <= 0.05),
        ("2f", "output-KO: P(r >= 0.55), output-vs-RS", "<0.01%", "< 1% of samples",
         ["output_ko.ge_output_vs_rs"], lambda v: v("output_ko.ge_output_vs_rs"),
         lambda q: q["output_ko.ge_output_vs_rs"] < 0.01),
        ("2f", "output-KO: P(r >= 0.52), input-vs-output", "<0.01%", "< 1% of samples",
         ["output_ko.ge_input_vs_output"], lambda v: v("output_ko.ge_input_vs_output"),
         lambda q: q["output_ko.ge_input_vs_output"] < 0.01),
        ("3b,c", "input-KO: PV selectivity stays poor", "yes", "median rises by < 0.2",
         ["sel_I_before", "input_ko.sel_I"],
         lambda v: f"{v('sel_I_before')} -> {v('input_ko.sel_I')}",
         lambda q: q["input_ko.sel_I"] < q["sel_I_before"] + 0.2),
        ("3d/1-S3c", "input-KO: no E/I co-tuning", "low current RS",
         "> 0.2 below plastic; below 0.3", ["input_ko.cotuning", "plastic.cotuning"],
         lambda v: f"{v('input_ko.cotuning')} (plastic {v('plastic.cotuning')})",
         lambda q: q["input_ko.cotuning"] < q["plastic.cotuning"] - 0.2
         and (True if q["input_ko.cotuning"] < 0.3 else PARTLY)),
        ("3e", "input-KO: input-vs-RS significant", "rare", "< 50% of samples",
         ["input_ko.frac_input_vs_rs"], lambda v: v("input_ko.frac_input_vs_rs"),
         lambda q: q["input_ko.frac_input_vs_rs"] < 0.5),
        ("3-S1", "input-KO: output-vs-RS significant", "often", "> 50% of samples",
         ["input_ko.frac_output_vs_rs"], lambda v: v("input_ko.frac_output_vs_rs"),
         lambda q: q["input_ko.frac_output_vs_rs"] > 0.5),
        ("3-S2", "heavy tails: PV selectivity higher", "yes", "median above input-KO's",
         ["input_ko_heavy.sel_I", "input_ko.sel_I"],
         lambda v: f"{v('input_ko_heavy.sel_I')} vs {v('input_ko.sel_I')}",
         lambda q: q["input_ko_heavy.sel_I"] > q["input_ko.sel_I"]),
        ("3-S2d", "heavy tails: input-vs-RS significant", "about half", "30-70% of samples",
         ["input_ko_heavy.frac_input_vs_rs"], lambda v: v("input_ko_heavy.frac_input_vs_rs"),
         lambda q: 0.3 < q["input_ko_heavy.frac_input_vs_rs"] < 0.7),
        ("3-S2d", "heavy tails: input-vs-output significant", "unlikely", "< 10% of samples",
         ["input_ko_heavy.frac_input_vs_output"],
         lambda v: v("input_ko_heavy.frac_input_vs_output"),
         lambda q: q["input_ko_heavy.frac_input_vs_output"] < 0.1),
        ("1-S2", "gradient rules: PV selectivity rises", "yes", "median rises by > 0.5",
         ["grad.sel_I_before", "grad.plastic.sel_I"],
         lambda v: f"{v('grad.sel_I_before')} -> {v('grad.plastic.sel_I')}",
         lambda q: q["grad.plastic.sel_I"] > q["grad.sel_I_before"] + 0.5),
        ("1-S2", "gradient rules: co-tuning needs both", "yes", "both KOs > 0.2 below plastic",
         ["grad.plastic.cotuning", "grad.output_ko.cotuning", "grad.input_ko.cotuning"],
         lambda v: f"{v('grad.plastic.cotuning')} vs {v('grad.output_ko.cotuning')}, "
                   f"{v('grad.input_ko.cotuning')}",
         lambda q: max(q["grad.output_ko.cotuning"], q["grad.input_ko.cotuning"])
         < q["grad.plastic.cotuning"] - 0.2),
        ("1-S2b", "input-only gradient > local PV selectivity", "yes",
         "median above the local rule's", ["grad.output_ko.sel_I", "output_ko.sel_I"],
         lambda v: f"{v('grad.output_ko.sel_I')} vs {v('output_ko.sel_I')}",
         lambda q: q["grad.output_ko.sel_I"] > q["output_ko.sel_I"]),
        ("1-S5", "Pyr→PV weights: a lower mode below θ", "yes",
         ">= 25% of synapses below θ = 1e-4", ["plastic.below_IE"],
         lambda v: f"{v('plastic.below_IE')} below θ", lambda q: q["plastic.below_IE"] >= 0.25),
        ("1-S5", "PV→Pyr weights: a lower mode below θ", "yes",
         ">= 25% of synapses below θ = 1e-4", ["plastic.below_EI"],
         lambda v: f"{v('plastic.below_EI')} below θ", lambda q: q["plastic.below_EI"] >= 0.25),
        ("4d", "after learning: influence falls with RF corr.", "yes", "slope < 0",
         ["perturb.plastic.slope"], lambda v: f"slope {v('perturb.plastic.slope')}",
         lambda q: q["perturb.plastic.slope"] < 0),
        ("4d", "before learning: influence rises", "yes", "slope > 0",
         ["perturb.before.slope"], lambda v: f"slope {v('perturb.before.slope')}",
         lambda q: q["perturb.before.slope"] > 0),
        ("4d", "after learning: the fall is monotonic", "yes", "no bin-to-bin rise",
         ["perturb.rises", "perturb.steps"],
         lambda v: f"{v('perturb.rises')} of {v('perturb.steps')} bin steps rise",
         lambda q: q["perturb.rises"] == 0),
        ("4d", "KOs: influence rises", "yes", "both slopes > 0",
         ["perturb.output_ko.slope", "perturb.input_ko.slope"],
         lambda v: f"{v('perturb.output_ko.slope')}, {v('perturb.input_ko.slope')}",
         lambda q: min(q["perturb.output_ko.slope"], q["perturb.input_ko.slope"]) > 0),
        ("4-S1a", "E[R^2] falls with learning", "0.06 -> 0.02", "after < 0.6 x before",
         ["r2_before", "r2_after"], lambda v: f"{v('r2_before')} -> {v('r2_after')}",
         lambda q: q["r2_after"] < 0.6 * q["r2_before"]),
        ("4e", "total output weight vs influence, r", "-0.6",
         "r < -0.3; within 0.15 of -0.6", ["perturb.r_out"], lambda v: v("perturb.r_out"),
         lambda q: q["perturb.r_out"] < -0.3 and (True if abs(q["perturb.r_out"] + 0.6) < 0.15
                                                  else PARTLY)),
    ]
    return rows


def claim_rows(seeds: Sequence[dict[str, float]]) -> list[dict[str, Any]]:
    """One dict per claim from the :func:`quantities` of each seed: ``fig, claim, paper,
    criterion, value`` (medians over seeds, each with its [IQR] when there are several),
    ``median_holds`` (the criterion on the medians; ``"partly"`` where only in part),
    ``fraction`` and ``seeds`` (of the seeds that have the claim's quantities, the share
    for which the criterion holds in full) and ``verdict``."""
    out = []
    for fig, claim, paper, criterion, keys, text, test in _rows():
        have = [q for q in seeds if all(k in q for k in keys)]
        row = dict(fig=fig, claim=claim, paper=paper, criterion=criterion, value=None,
                   median_holds=None, fraction=None, seeds=len(have), verdict=NOT_RUN)
        if have:
            stats = {k: med_iqr([q[k] for q in have]) for k in keys}
            med = {k: s[0] for k, s in stats.items()}
            one = len(have) == 1

            def v(k, stats=stats, one=one):
                m, q1, q3 = stats[k]
                s = _number(k, m)
                return s if one else f"{s} [{_number(k, q1)}, {_number(k, q3)}]"

            held = test(med)
            per_seed = [test(q) for q in have]
            fraction = sum(_full(r) for r in per_seed) / len(have)
            full = verdict_of(_full(held), fraction)
            if full == "not reproduced" and (held == PARTLY
                                             or sum(bool(r) for r in per_seed) >= len(have) / 2):
                full = PARTLY  # met in part for the medians or for half of the seeds
            row.update(value=text(v), median_holds=held if isinstance(held, str) else bool(held),
                       fraction=fraction, verdict=full)
        out.append(row)
    return out


def over_seeds(conditions: Sequence[str] | None = None, *, seeds: Sequence[int] | None = None,
               gradient: bool = False, perturb: bool = False, scale: str | None = None,
               store: Any = None, n: int = 100, repeats: int = 10000, alpha: float = 0.01,
               theta: float = 1e-4):
    """:func:`quantities` of every seed (default: the seed axis of ``assemblies.train_local``
    at ``scale``) as a :class:`pandas.DataFrame`, one row per seed. ``conditions`` of the
    local rules (default all), with the gradient rules (Fig 1-S2) and the perturbation
    experiment (Fig 4) where asked; missing runs are computed first (one batch per seed)."""
    import pandas as pd

    from .presets import TRAIN_LOCAL
    from .protocols import perturbation_experiment, seed_values, trained_conditions

    seeds = list(seeds) if seeds is not None else seed_values(TRAIN_LOCAL.get(scale).seeds)
    kw = dict(n=n, repeats=repeats, alpha=alpha, theta=theta)
    conds = list(conditions) if conditions is not None else None
    rows = []
    for s in seeds:
        loc = trained_conditions("local", s, conditions=conds, scale=scale, store=store)
        grad = trained_conditions("gradient", s, scale=scale, store=store) if gradient else None
        pert = perturbation_experiment(s, scale=scale, store=store) if perturb else None
        rows.append(quantities(loc, grad, pert, **kw))
    return pd.DataFrame(rows, index=pd.Index(seeds, name="seed"))


class Held(NamedTuple):
    """Whether a criterion holds for the medians over seeds, and the fraction of seeds for
    which it holds. True when the claim is *reproduced* (:func:`eicore.claims.verdict_of`):
    the medians and at least 80 % of the seeds."""

    median: bool
    fraction: float

    def __bool__(self) -> bool:
        return verdict_of(self.median, self.fraction) == "reproduced"

    def __str__(self) -> str:
        return (f"holds for the medians: {'yes' if self.median else 'no'}; "
                f"in {100 * self.fraction:.0f}% of seeds")


def holds(table, test: Callable[[Any], Any]) -> Held:
    """:class:`Held` of ``test`` (a criterion on one row of :func:`over_seeds`, e.g.
    ``lambda q: q["plastic.p"] < 0.01``) over the rows of ``table``."""
    med = table.median()
    return Held(_full(test(med)),
                float(sum(_full(test(r)) for _, r in table.iterrows()) / len(table)))


def spread(table, keys: Sequence[str] | None = None):
    """``median [q1, q3]`` over seeds of the columns ``keys`` of :func:`over_seeds`, as a
    one-column :class:`pandas.DataFrame` indexed by :func:`label` (formatted by the kind of
    each quantity)."""
    import pandas as pd

    keys = list(keys) if keys is not None else list(table.columns)
    out = {}
    for k in keys:
        m, q1, q3 = med_iqr(table[k].to_numpy())
        out[label(k)] = f"{_number(k, m)} [{_number(k, q1)}, {_number(k, q3)}]"
    return pd.DataFrame({f"median [IQR], {len(table)} seeds": out})
