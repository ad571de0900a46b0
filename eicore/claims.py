"""Claims over seeds: median [interquartile range] and the verdict rules of every summary.

A claim of a paper is measured on several independently seeded runs. It *holds for the
medians* when its criterion holds for the median (over seeds) of each measured quantity,
and the *fraction* is the share of seeds for which it holds. :func:`verdict_of` turns the
two into *reproduced*, *partly* or *not reproduced* (:data:`VERDICT_RULES`). Part I
(:mod:`eicore.assemblies.summary`) and Part II (:mod:`eicore.dendritic.report.claims`) state
their summaries with these rules; a paper-scale run of a single seed is judged by the same
rules (its median is its value).
"""

from __future__ import annotations

from .backend import host as np

__all__ = ["VERDICT_RULES", "fmt", "med_iqr", "verdict_of"]

#: The criterion of each verdict, as the summary chapters state it.
VERDICT_RULES = {
    "reproduced": "the claim holds for the medians over seeds and in at least 80 % of seeds",
    "partly": "it holds for the medians or in at least half of the seeds, not both of the above",
    "not reproduced": "it fails for the medians and in more than half of the seeds",
}


def med_iqr(a) -> tuple[float, float, float]:
    """Median and interquartile range (25th, 75th percentile) of ``a``."""
    a = np.asarray(a, dtype=float)
    q1, m, q3 = np.percentile(a, [25, 50, 75])
    return float(m), float(q1), float(q3)


def fmt(a, digits: int = 4) -> str:
    """``median [q1, q3]`` of ``a``."""
    m, q1, q3 = med_iqr(a)
    return f"{m:.{digits}f} [{q1:.{digits}f}, {q3:.{digits}f}]"


def verdict_of(median_holds: bool, fraction: float) -> str:
    """*reproduced*, *partly* or *not reproduced* (see :data:`VERDICT_RULES`)."""
    if median_holds and fraction >= 0.8:
        return "reproduced"
    if median_holds or fraction >= 0.5:
        return "partly"
    return "not reproduced"
