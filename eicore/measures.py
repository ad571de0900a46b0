"""Statistics shared by the book's chapters.

First used in Part I (Mackwood, Naumann & Sprekeler 2021, Materials and methods,
"Quantitative measures"): response similarity (Eq 5), skewness selectivity (Eq 6),
receptive-field correlations and E[R^2], the repeated-sampling test of weight-vs-RS
correlations (n = 100 connections, many repeats), Mann-Whitney U, binned means, and
the angle between two updates (Eq 7). Array functions work on any array-API namespace;
the tests and p-values run on the host (SciPy).
"""

from __future__ import annotations

from typing import Any

from .backend import HostRNG, host, namespace, to_numpy
from .errors import ShapeError

__all__ = [
    "binned_mean",
    "expected_r2",
    "mann_whitney",
    "pearson",
    "response_similarity",
    "rf_correlation",
    "sampled_correlation_test",
    "skewness",
    "update_angle",
]


def response_similarity(a: Any, b: Any) -> Any:
    """Eq 5: ``RS_ij = sum_s a_i(s) b_j(s) / (|a_i| |b_j|)``; ``a (..., S, n)``, ``b (..., S, m)``.

    Returns ``(..., n, m)``; a silent cell (zero norm) gets RS = 0.
    """
    xp = namespace(a, b)
    if a.shape[-2] != b.shape[-2]:
        raise ShapeError(f"a and b need the same number of stimuli (axis -2), got "
                         f"{a.shape[-2]} and {b.shape[-2]}")
    na = xp.sqrt(xp.sum(a * a, axis=-2))
    nb = xp.sqrt(xp.sum(b * b, axis=-2))
    dot = xp.matmul(xp.matrix_transpose(a), b)
    den = na[..., :, None] * nb[..., None, :]
    return xp.where(den > 0, dot / xp.where(den > 0, den, 1.0), 0.0)


def skewness(r: Any, axis: int = -2) -> Any:
    """Eq 6: population skewness of each cell's responses over stimuli (``scipy.stats.skew``,
    ``bias=True``); a cell with constant response gets 0."""
    xp = namespace(r)
    m = xp.mean(r, axis=axis, keepdims=True)
    d = r - m
    m2 = xp.mean(d * d, axis=axis)
    m3 = xp.mean(d * d * d, axis=axis)
    return xp.where(m2 > 0, m3 / xp.where(m2 > 0, m2, 1.0) ** 1.5, 0.0)


def rf_correlation(r: Any) -> Any:
    """Pearson correlation of responses over stimuli between cells: ``(..., S, n) -> (..., n, n)``.

    Silent cells get correlation 0 with every cell (and 1 with themselves).
    """
    xp = namespace(r)
    d = r - xp.mean(r, axis=-2, keepdims=True)
    c = response_similarity(d, d)
    n = r.shape[-1]
    return xp.where(xp.eye(n, dtype=xp.bool), 1.0, c)


def expected_r2(r: Any) -> float:
    """Fig 4-S1: mean over cell pairs (i != j) of the squared RF correlation ``R^2``."""
    c = to_numpy(rf_correlation(r))
    n = c.shape[-1]
    off = ~host.eye(n, dtype=bool)
    return float(host.mean(c[..., off] ** 2))


def pearson(x: Any, y: Any, axis: int = -1) -> Any:
    """Pearson r along ``axis`` (host or backend arrays)."""
    xp = namespace(x, y)
    dx = x - xp.mean(x, axis=axis, keepdims=True)
    dy = y - xp.mean(y, axis=axis, keepdims=True)
    num = xp.sum(dx * dy, axis=axis)
    den = xp.sqrt(xp.sum(dx * dx, axis=axis) * xp.sum(dy * dy, axis=axis))
    return xp.where(den > 0, num / xp.where(den > 0, den, 1.0), 0.0)


def sampled_correlation_test(
    x: Any, y: Any, *, n: int = 100, repeats: int = 10000, alpha: float = 0.01,
    r_ref: float | None = None, seed: int = 0,
) -> dict[str, Any]:
    """Repeated-sampling test of Figs 1e, 2d-f and 3e.

    ``repeats`` times, draw ``n`` of the pairs ``(x_k, y_k)`` without replacement and
    compute Pearson's r and its two-sided p-value (t test, n - 2 d.o.f.). Returns
    ``dict(r=(repeats,), p=(repeats,), frac_significant=`` fraction with r > 0 and
    p < alpha ``, frac_ge_ref=`` fraction with r >= r_ref (or None)``)``.
    """
    from scipy import stats

    x = host.asarray(to_numpy(x), dtype=host.float64).ravel()
    y = host.asarray(to_numpy(y), dtype=host.float64).ravel()
    if x.shape != y.shape:
        raise ShapeError(f"x and y need the same number of pairs, got {x.size} and {y.size}")
    if x.size < n:
        raise ShapeError(f"need at least n={n} pairs to sample from, got {x.size}")
    g = HostRNG(seed).generator
    if x.size < 4 * n:
        idx = host.argsort(g.random((repeats, x.size)), axis=1)[:, :n]
    else:
        idx = _sample_without_replacement(g, x.size, n, repeats)
    r = pearson(x[idx], y[idx], axis=1)
    r = host.clip(r, -1.0, 1.0)
    t = r * host.sqrt((n - 2) / host.maximum(1.0 - r * r, 1e-300))
    p = 2.0 * stats.t.sf(host.abs(t), n - 2)
    out = dict(r=r, p=p, frac_significant=float(host.mean((r > 0) & (p < alpha))),
               frac_ge_ref=None)
    if r_ref is not None:
        out["frac_ge_ref"] = float(host.mean(r >= r_ref))
    return out


def _repeated_pairs(idx: Any) -> Any:
    """Boolean mask of the entries of each row of ``idx`` that repeat an earlier entry."""
    order = host.argsort(idx, axis=1, kind="stable")
    srt = host.take_along_axis(idx, order, axis=1)
    dup_sorted = host.zeros(idx.shape, dtype=bool)
    dup_sorted[:, 1:] = srt[:, 1:] == srt[:, :-1]
    mask = host.zeros(idx.shape, dtype=bool)
    host.put_along_axis(mask, order, dup_sorted, axis=1)
    return mask


def _sample_without_replacement(g: Any, size: int, n: int, repeats: int,
                                rounds: int = 20) -> Any:
    """``repeats`` rows of ``n`` distinct indices in ``range(size)``, each row a uniformly
    random n-subset (in random order); always terminates.

    Rows are drawn with replacement and a row that repeats an index is redrawn whole (plain
    rejection, cheap when ``n**2 << size``); rows still repeating after ``rounds`` redraws
    keep their distinct entries and redraw only the repeated ones until all differ (each
    new entry is then uniform over the indices not yet in the row, so the row stays a
    uniform random subset).
    """
    idx = g.integers(0, size, (repeats, n))
    for _ in range(rounds):
        srt = host.sort(idx, axis=1)
        bad = host.nonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))[0]
        if bad.size == 0:
            return idx
        idx[bad] = g.integers(0, size, (bad.size, n))
    while True:
        dup = _repeated_pairs(idx)
        k = int(dup.sum())
        if k == 0:
            return idx
        idx[dup] = g.integers(0, size, k)


def mann_whitney(a: Any, b: Any) -> tuple[float, float]:
    """Two-sided Mann-Whitney U test (SciPy); returns ``(U, p)`` with U for sample ``a``."""
    from scipy import stats

    res = stats.mannwhitneyu(to_numpy(a).ravel(), to_numpy(b).ravel(), alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def binned_mean(x: Any, y: Any, n_bins: int = 9) -> tuple[Any, Any, Any, Any]:
    """Mean and SEM of ``y`` in ``n_bins`` equal-width bins of ``x`` (Fig 4d).

    Edges span ``[min x - 1e-3, max x + 1e-3]`` as in the authors' code. Returns host
    ``(centres, mean, sem, count)``; empty bins give NaN.
    """
    x = to_numpy(x).ravel().astype(host.float64)
    y = to_numpy(y).ravel().astype(host.float64)
    edges = host.linspace(x.min() - 1e-3, x.max() + 1e-3, n_bins + 1)
    k = host.clip(host.digitize(x, edges) - 1, 0, n_bins - 1)
    cnt = host.bincount(k, minlength=n_bins).astype(host.float64)
    s1 = host.bincount(k, weights=y, minlength=n_bins)
    s2 = host.bincount(k, weights=y * y, minlength=n_bins)
    with host.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / cnt
        var = (s2 - cnt * mean**2) / (cnt - 1)
        sem = host.sqrt(host.maximum(var, 0.0) / cnt)
    return 0.5 * (edges[1:] + edges[:-1]), mean, sem, cnt


def update_angle(G: Any, A: Any) -> Any:
    """Eq 7: angle in degrees between two updates, per leading batch entry ``(B, ...) -> (B,)``."""
    xp = namespace(G, A)
    B = G.shape[0]
    g = xp.reshape(G, (B, -1))
    a = xp.reshape(A, (B, -1))
    num = xp.sum(g * a, axis=1)
    den = xp.sqrt(xp.sum(g * g, axis=1) * xp.sum(a * a, axis=1))
    c = xp.clip(num / xp.where(den > 0, den, 1.0), -1.0, 1.0)
    return xp.acos(c) * (180.0 / 3.141592653589793)
