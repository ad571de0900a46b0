"""Part II report helpers: the claims' verdicts and the neuron schematic."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eicore.dendritic.report import claims as C


def _fig3(sb, db):
    return xr.Dataset({"final": (("rule", "seed"), np.array([sb, db], dtype=float))},
                      coords={"rule": ["SB", "DB"], "seed": np.arange(len(sb))})


def test_fmt_is_median_and_iqr():
    assert C.fmt([1.0, 2.0, 3.0, 4.0, 5.0], 1) == "3.0 [2.0, 4.0]"


@pytest.mark.parametrize("sb, db, verdict", [
    ([1.0, 1.0, 1.0, 1.0, 1.0], [1.1, 1.1, 1.1, 1.1, 1.1], "reproduced"),
    ([1.0, 1.0, 1.0, 1.0, 1.0], [1.1, 1.1, 1.1, 2.0, 2.0], "partly"),  # medians, 3 of 5
    ([1.0, 1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 1.1, 1.1], "not reproduced"),
])
def test_verdicts_follow_the_stated_rules(sb, db, verdict):
    c = C.fig3_similar(_fig3(sb, db))
    assert C.verdict(c) == verdict
    assert c.seeds == 5 and isinstance(c.median_holds, bool)
    assert set(C.VERDICT_RULES) == {"reproduced", "partly", "not reproduced"}


def test_schematic_draws_two_panels():
    import matplotlib

    matplotlib.use("Agg")
    from eicore.dendritic.report.schematic import draw_balance_schematic

    fig = draw_balance_schematic()
    w, h = fig.get_size_inches()
    assert len(fig.axes) == 2 and w <= 7.8
    import matplotlib.pyplot as plt

    plt.close(fig)


def _fig4(sb):
    """SB final losses (p, seed) at p = 0, 0.5, 1 (DB is not used by the claim)."""
    sb = np.asarray(sb, dtype=float)
    return xr.Dataset({"final": (("rule", "p_corr", "seed"), np.stack([sb, 0.5 * sb]))},
                      coords={"rule": ["SB", "DB"], "p_corr": [0.0, 0.5, 1.0],
                              "seed": np.arange(sb.shape[1])})


def test_sb_peak_needs_an_interior_maximum_in_each_seed():
    hump = [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [1.5, 1.5, 1.5]]
    c = C.fig4_sb_peaks(_fig4(hump))
    assert C.verdict(c) == "reproduced" and c.seeds == 3 and "p = 0.5" in c.value
    rising = [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [3.0, 3.0, 3.0]]  # no fall towards p = 1
    assert C.verdict(C.fig4_sb_peaks(_fig4(rising))) == "not reproduced"
    mixed = [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [1.5, 3.0, 1.5]]  # seed 1 keeps rising
    c = C.fig4_sb_peaks(_fig4(mixed))
    assert c.median_holds and c.fraction == pytest.approx(2 / 3) and C.verdict(c) == "partly"


def test_sb_peak_with_two_correlations_is_not_judged():
    two = xr.Dataset({"final": (("rule", "p_corr", "seed"), np.ones((2, 2, 3)))},
                     coords={"rule": ["SB", "DB"], "p_corr": [0.0, 1.0], "seed": np.arange(3)})
    c = C.fig4_sb_peaks(two)
    assert C.verdict(c) == "not reproduced" and "at least 3 correlations" in c.value
