"""Tests of eicore.measures against SciPy / explicit loops."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from eicore.measures import (
    binned_mean,
    expected_r2,
    mann_whitney,
    pearson,
    response_similarity,
    rf_correlation,
    sampled_correlation_test,
    skewness,
    update_angle,
)


def test_response_similarity_matches_loops():
    rng = np.random.default_rng(0)
    a, b = rng.random((50, 4)), rng.random((50, 3))
    rs = response_similarity(a, b)
    for i in range(4):
        for j in range(3):
            want = a[:, i] @ b[:, j] / np.linalg.norm(a[:, i]) / np.linalg.norm(b[:, j])
            assert rs[i, j] == pytest.approx(want)
    a[:, 0] = 0
    assert (response_similarity(a, b)[0] == 0).all()


def test_skewness_and_correlations_match_scipy():
    rng = np.random.default_rng(1)
    r = rng.gamma(2.0, size=(200, 5))
    assert np.allclose(skewness(r, axis=0), stats.skew(r, axis=0, bias=True))
    assert np.allclose(rf_correlation(r), np.corrcoef(r.T))
    c = np.corrcoef(r.T)
    assert expected_r2(r) == pytest.approx(np.mean(c[~np.eye(5, dtype=bool)] ** 2))
    assert pearson(r[:, 0], r[:, 1]) == pytest.approx(stats.pearsonr(r[:, 0], r[:, 1])[0])


def test_sampled_correlation_test():
    rng = np.random.default_rng(2)
    x = rng.normal(size=5000)
    strong = sampled_correlation_test(x, x + 0.5 * rng.normal(size=5000), repeats=500, r_ref=0.5)
    assert strong["frac_significant"] == 1.0 and strong["frac_ge_ref"] > 0.9
    null = sampled_correlation_test(x, rng.normal(size=5000), repeats=4000)
    assert null["frac_significant"] < 0.015  # one-sided tail of a two-sided 1% test: ~0.5%
    r, p = stats.pearsonr(x[:100], x[:100] ** 3)
    one = sampled_correlation_test(x[:100], x[:100] ** 3, n=100, repeats=1)
    assert one["r"][0] == pytest.approx(r) and one["p"][0] == pytest.approx(p, rel=1e-6)


def test_mann_whitney_and_bins_and_angle():
    a, b = np.arange(10.0), np.arange(5.0, 15.0)
    u, p = mann_whitney(a, b)
    ref = stats.mannwhitneyu(a, b, alternative="two-sided")
    assert u == ref.statistic and p == pytest.approx(ref.pvalue)
    x = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    y = np.array([1.0, 3.0, 5.0, 7.0, 9.0])
    c, m, s, n = binned_mean(x, y, n_bins=2)
    assert list(n) == [2, 3] and m[0] == pytest.approx(2.0) and m[1] == pytest.approx(7.0)
    assert s[0] == pytest.approx(stats.sem([1.0, 3.0]))
    g = np.array([[1.0, 0.0], [1.0, 1.0]])
    a2 = np.array([[0.0, 2.0], [2.0, 2.0]])
    assert np.allclose(update_angle(g, a2), [90.0, 0.0], atol=1e-6)


def test_sampling_without_replacement_terminates_at_every_size():
    """4n + 13 pairs: whole-row rejection almost never succeeds (p ~ 1e-5 per row); the
    sampler still ends quickly, every row holds n distinct pairs, and every pair is drawn
    about equally often (a uniform subset)."""
    import time

    from eicore.measures import _sample_without_replacement

    n, size, repeats = 100, 4 * 100 + 13, 3000
    t0 = time.perf_counter()
    idx = _sample_without_replacement(np.random.default_rng(0), size, n, repeats)
    assert time.perf_counter() - t0 < 10.0
    assert idx.shape == (repeats, n)
    assert all(len(set(row)) == n for row in idx.tolist())
    counts = np.bincount(idx.ravel(), minlength=size)
    expected = repeats * n / size
    # binomial spread of each count: sd = sqrt(R p (1-p)) ~ 23; allow 5 sd
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected * (1 - n / size)))
    res = sampled_correlation_test(np.arange(size), np.arange(size) ** 2, n=n, repeats=200)
    assert res["r"].shape == (200,) and np.all(res["r"] > 0.9)
