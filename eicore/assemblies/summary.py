"""Part I's claims as table rows: the paper's statement, ours, a criterion and a verdict.

Mackwood et al. (2021), Figs 1-4 and their supplements; chapter ``08_summary``. The same
rows are computed from the ``ci`` runs of the chapters and from the paper-scale runs that
come with the book (:func:`eicore.assemblies.trained_conditions` with ``stored=True``), so
the two columns of the summary use one set of criteria. A row whose inputs were not run
(a condition, the gradient rules, the perturbation experiment) has ``ok = None``.
"""

from __future__ import annotations

from typing import Any

from ..backend import host, to_numpy
from ..measures import expected_r2, mann_whitney
from .analysis import (
    current_similarity,
    output_weight_vs_influence,
    sampling_fractions,
    selectivity,
)

__all__ = ["PARTLY", "claim_rows", "verdict"]

PARTLY = "partly"


def verdict(ok: Any) -> str:
    """*reproduced*, *partly*, *not reproduced*, or *not run yet* (``ok is None``)."""
    if ok is None:
        return "not run yet"
    if isinstance(ok, str):
        return ok
    return "reproduced" if bool(ok) else "not reproduced"


def _med(g: Any) -> str:
    return f"{float(host.median(g)):.2f}"


def claim_rows(local: dict[str, Any], gradient: dict[str, Any] | None = None,
               perturb: dict[str, Any] | None = None, *, n: int = 100, repeats: int = 10000,
               alpha: float = 0.01, theta: float = 1e-4) -> list[dict[str, Any]]:
    """One dict per claim (``fig, claim, paper, value, criterion, ok``) from a
    :func:`trained_conditions` result of the local rules (any subset of its conditions),
    optionally the gradient rules' and the perturbation experiment's results."""
    C = list(local["conditions"])
    has = set(C)
    sw0, sw1, after = local["sweep_before"], local["sweep_after"], local["after"]
    ref = C.index("plastic") if "plastic" in has else 0  # before learning: any condition
    gI0 = selectivity(sw0, ref)[1]
    gI = {c: selectivity(sw1, C.index(c))[1] for c in C}
    mw = {c: mann_whitney(gI0, gI[c]) for c in C}
    cs = {c: float(host.median(current_similarity(sw1, C.index(c)))) for c in C}
    cs0 = float(host.median(current_similarity(sw0, ref)))

    def samp(c, th=theta):
        return sampling_fractions(after, sw1, C.index(c), n=n, repeats=repeats, alpha=alpha,
                                  theta=th)

    s = {c: samp(c) for c in ("plastic", "output_ko", "input_ko") if c in has}
    if "input_ko_heavy" in has:
        wH = to_numpy(local["before"].W_IE)[C.index("input_ko_heavy")]
        s["input_ko_heavy"] = samp("input_ko_heavy", float(host.max(wH)) * 1e-2)

    def pct(c, k, field="frac_significant"):
        return f"{100 * s[c][k][field]:.1f}%" if field == "frac_significant" else \
            f"{100 * s[c][k][field]:.2f}%"

    def fs(c, k, field="frac_significant"):
        return s[c][k][field]

    rows: list[dict[str, Any]] = []

    def row(fig, claim, paper, criterion, needs, value, ok):
        """``value``/``ok`` are callables, evaluated only when ``needs`` were run."""
        run = all(x in has or (x == "gradient" and gradient is not None)
                  or (x == "perturb" and perturb is not None) for x in needs)
        rows.append(dict(fig=fig, claim=claim, paper=paper, criterion=criterion,
                         value=value() if run else None, ok=ok() if run else None))

    P, O, K, H = "plastic", "output_ko", "input_ko", "input_ko_heavy"
    row("1c", "PV selectivity rises (median)", "rises, < Pyr", "Mann-Whitney p < 0.01", [P],
        lambda: f"{_med(gI0)} -> {_med(gI[P])} (p={mw[P][1]:.0e})", lambda: mw[P][1] < 0.01)
    for k, name in (("output_vs_rs", "output-vs-RS"), ("input_vs_rs", "input-vs-RS"),
                    ("input_vs_output", "input-vs-output")):
        row("1e/2f", f"plastic: {name} significant", "100%", ">= 90% of samples", [P],
            lambda k=k: pct(P, k), lambda k=k: fs(P, k) >= 0.9)
    row("1f/1-S3", "E/I current co-tuning (median corr.)", "flat -> co-tuned",
        "median rises by > 0.3", [P], lambda: f"{cs0:.2f} -> {cs[P]:.2f}",
        lambda: cs[P] > cs0 + 0.3)
    h = local["history"]
    iP = C.index(P) if P in has else 0
    ang = lambda name, t: float(to_numpy(getattr(h, f"angle_{name}_median"))[iP, t])  # noqa: E731
    row("1g", "angle local vs gradient, input (end)", "< 90 deg", "< 90 deg in the last trial",
        [P], lambda: f"{ang('IE', -1):.0f} deg", lambda: ang("IE", -1) < 90)
    row("1g", "angle local vs gradient, output (end)", "< 90 deg", "< 90 deg in the last trial",
        [P], lambda: f"{ang('EI', -1):.0f} deg", lambda: ang("EI", -1) < 90)
    row("1g", "input angle shrinks during learning", "yes", "last trial below first", [P],
        lambda: f"{ang('IE', 0):.0f} -> {ang('IE', -1):.0f} deg",
        lambda: ang("IE", -1) < ang("IE", 0))
    row("2b", "output-KO: PV selectivity rises (Mann-Whitney)", "U=1207, p<1e-4",
        "p < 1e-4; U within 600-2400", [O], lambda: f"U={mw[O][0]:.0f}, p={mw[O][1]:.0e}",
        lambda: mw[O][1] < 1e-4 and (True if 600 < mw[O][0] < 2400 else PARTLY))
    row("2b", "output-KO: rise much weaker than plastic", "yes", "median below plastic's",
        [O, P], lambda: f"{_med(gI[O])} vs {_med(gI[P])}",
        lambda: float(host.median(gI[O])) < float(host.median(gI[P])))
    row("2f", "output-KO: input-vs-RS significant", "99%", ">= 80% of samples", [O],
        lambda: pct(O, "input_vs_rs"), lambda: fs(O, "input_vs_rs") >= 0.8)
    row("2f", "output-KO: input-vs-output significant", "2%", "<= 10% of samples", [O],
        lambda: pct(O, "input_vs_output"), lambda: fs(O, "input_vs_output") <= 0.1)
    row("2f", "output-KO: output-vs-RS significant", "<0.01%", "<= 5% of samples", [O],
        lambda: pct(O, "output_vs_rs"), lambda: fs(O, "output_vs_rs") <= 0.05)
    row("2f", "output-KO: P(r >= 0.55), output-vs-RS", "<0.01%", "< 1% of samples", [O],
        lambda: pct(O, "output_vs_rs", "frac_ge_ref"),
        lambda: fs(O, "output_vs_rs", "frac_ge_ref") < 0.01)
    row("2f", "output-KO: P(r >= 0.52), input-vs-output", "<0.01%", "< 1% of samples", [O],
        lambda: pct(O, "input_vs_output", "frac_ge_ref"),
        lambda: fs(O, "input_vs_output", "frac_ge_ref") < 0.01)
    row("3b,c", "input-KO: PV selectivity stays poor", "yes", "median rises by < 0.2", [K],
        lambda: f"{_med(gI0)} -> {_med(gI[K])}",
        lambda: float(host.median(gI[K])) < float(host.median(gI0)) + 0.2)
    row("3d/1-S3c", "input-KO: no E/I co-tuning", "low current RS",
        "> 0.2 below plastic; below 0.3", [K, P], lambda: f"{cs[K]:.2f} (plastic {cs[P]:.2f})",
        lambda: cs[K] < cs[P] - 0.2 and (True if cs[K] < 0.3 else PARTLY))
    row("3e", "input-KO: input-vs-RS significant", "rare", "< 50% of samples", [K],
        lambda: pct(K, "input_vs_rs"), lambda: fs(K, "input_vs_rs") < 0.5)
    row("3-S1", "input-KO: output-vs-RS significant", "often", "> 50% of samples", [K],
        lambda: pct(K, "output_vs_rs"), lambda: fs(K, "output_vs_rs") > 0.5)
    row("3-S2", "heavy tails: PV selectivity higher", "yes", "median above input-KO's", [H, K],
        lambda: f"{_med(gI[H])} vs {_med(gI[K])}",
        lambda: float(host.median(gI[H])) > float(host.median(gI[K])))
    row("3-S2d", "heavy tails: input-vs-RS significant", "about half", "30-70% of samples",
        [H], lambda: pct(H, "input_vs_rs"), lambda: 0.3 < fs(H, "input_vs_rs") < 0.7)
    row("3-S2d", "heavy tails: input-vs-output significant", "unlikely", "< 10% of samples",
        [H], lambda: pct(H, "input_vs_output"), lambda: fs(H, "input_vs_output") < 0.1)

    if gradient is not None:
        gC = list(gradient["conditions"])
        gG0 = selectivity(gradient["sweep_before"], 0)[1]
        gG = {c: selectivity(gradient["sweep_after"], b)[1] for b, c in enumerate(gC)}
        csG = {c: float(host.median(current_similarity(gradient["sweep_after"], b)))
               for b, c in enumerate(gC)}
    row("1-S2", "gradient rules: PV selectivity rises", "yes", "median rises by > 0.5",
        ["gradient"], lambda: f"{_med(gG0)} -> {_med(gG['plastic'])}",
        lambda: float(host.median(gG["plastic"])) > float(host.median(gG0)) + 0.5)
    row("1-S2", "gradient rules: co-tuning needs both", "yes", "both KOs > 0.2 below plastic",
        ["gradient"],
        lambda: f"{csG['plastic']:.2f} vs {csG['output_ko']:.2f}, {csG['input_ko']:.2f}",
        lambda: max(csG["output_ko"], csG["input_ko"]) < csG["plastic"] - 0.2)
    row("1-S2b", "input-only gradient > local PV selectivity", "yes",
        "median above the local rule's", ["gradient", O],
        lambda: f"{_med(gG['output_ko'])} vs {_med(gI[O])}",
        lambda: float(host.median(gG["output_ko"])) > float(host.median(gI[O])))

    if perturb is not None:
        curves = perturb["curves"]
        mono = curves["plastic"]["mean"][curves["plastic"]["count"] > 0]
        n_up = int(host.sum(host.diff(mono) > 0))
        r2 = {nm: expected_r2(perturb["rE"][k]) for k, nm in enumerate(perturb["names"])}
        _, _, r_out = output_weight_vs_influence(
            perturb["W_IE"][1], perturb["influence_mean"][1][:, None], perturb["cells"])
    row("4d", "after learning: influence falls with RF corr.", "yes", "slope < 0", ["perturb"],
        lambda: f"slope {curves['plastic']['slope']:+.4f}", lambda: curves["plastic"]["slope"] < 0)
    row("4d", "before learning: influence rises", "yes", "slope > 0", ["perturb"],
        lambda: f"slope {curves['before']['slope']:+.4f}", lambda: curves["before"]["slope"] > 0)
    row("4d", "after learning: the fall is monotonic", "yes", "no bin-to-bin rise", ["perturb"],
        lambda: f"{n_up} of {len(mono) - 1} bin steps rise", lambda: n_up == 0)
    row("4d", "KOs: influence rises", "yes", "both slopes > 0", ["perturb"],
        lambda: f"{curves['output_ko']['slope']:+.4f}, {curves['input_ko']['slope']:+.4f}",
        lambda: min(curves["output_ko"]["slope"], curves["input_ko"]["slope"]) > 0)
    if perturb is None and P in has:  # the same measure from the trained network's sweeps
        r2 = {"before": expected_r2(sw0.rE[iP]), "plastic": expected_r2(sw1.rE[iP])}
    row("4-S1a", "E[R^2] falls with learning", "0.06 -> 0.02", "after < 0.6 x before",
        ["perturb" if perturb is not None else P],
        lambda: f"{r2['before']:.3f} -> {r2['plastic']:.3f}",
        lambda: r2["plastic"] < 0.6 * r2["before"])
    row("4e", "total output weight vs influence, r", "-0.6", "r < -0.3; within 0.15 of -0.6",
        ["perturb"], lambda: f"{r_out:.2f}",
        lambda: r_out < -0.3 and (True if abs(r_out + 0.6) < 0.15 else PARTLY))
    return rows
