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


def test_fig3_sparse_counts_images_per_network():
    # 5 seeds x 10 images; SB networks code 9 of 10 images with <= 2 neurons in every seed,
    # DB networks 9 of 10 in three seeds and 5 of 10 in two
    sb = np.array([[1] * 9 + [3]] * 5)
    db = np.array([[2] * 9 + [4]] * 3 + [[1] * 5 + [3] * 5] * 2)
    ds = xr.Dataset({"active": (("rule", "seed", "image"), np.stack([sb, db]))},
                    coords={"rule": ["SB", "DB"], "seed": np.arange(5)})
    c = C.fig3_sparse(ds)
    assert c.median_holds and c.fraction == pytest.approx(0.6) and c.seeds == 5
    assert C.verdict(c) == "partly"
    assert "SB 0.90 [0.90, 0.90], DB 0.90 [0.50, 0.90]" in c.value
    assert not C.fig3_sparse(ds, most=1).median_holds  # DB networks use two neurons


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


def test_db_below_sb_names_the_correlations_where_it_fails():
    sb = np.array([[2.0, 2.0, 2.0], [2.0, 2.0, 2.0], [1.0, 1.0, 1.0]])  # p = 0, 0.5, 1
    db = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.25, 0.5, 1.25]])
    ds = xr.Dataset({"final": (("rule", "p_corr", "seed"), np.stack([sb, db]))},
                    coords={"rule": ["SB", "DB"], "p_corr": [0.0, 0.5, 1.0],
                            "seed": np.arange(3)})
    c = C.fig4_db_below_sb(ds)
    assert C.verdict(c) == "not reproduced" and c.fraction == pytest.approx(1 / 3)
    assert c.value == "below at 2 of 3 p; not at p = 1 (SB/DB 0.80)"
    ok = ds.assign(final=ds.final.where(ds.rule == "SB", 0.5 * ds.final.sel(rule="SB")))
    c = C.fig4_db_below_sb(ok)
    assert C.verdict(c) == "reproduced" and c.value.startswith("below at all 3 p")


def test_single_bars_are_judged_on_single_bar_fields_not_on_unique_matches():
    # both rules give every bar its own best-matching neuron, but only DB's fields are bars
    dims = ("rule", "p_corr", "seed")
    ds = xr.Dataset({"single": (dims, np.array([[[0, 1, 0]], [[16, 16, 15]]], dtype=float)),
                     "unique": (dims, np.full((2, 1, 3), 16.0))},
                    coords={"rule": ["SB", "DB"], "p_corr": [0.7], "seed": np.arange(3)})
    c = C.fig4_single_bars(ds)
    assert C.verdict(c) == "reproduced" and c.fraction == 1.0
    assert "SB 0.0 [0.0, 0.5], DB 16.0 [15.5, 16.0]" in c.value and "SB 16.0" in c.value
    flipped = ds.assign(single=ds.single[::-1].assign_coords(rule=["SB", "DB"]))
    assert C.verdict(C.fig4_single_bars(flipped)) == "not reproduced"


def test_delay_cost_compares_the_growth_of_each_rules_loss():
    # (dt, rule, seed): SB doubles from 0.1 to 3 ms, DB grows by 20 %, except seed 2's DB
    final = np.array([[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]],
                      [[2.0, 2.0, 2.0], [1.2, 1.2, 3.0]]])
    ds = xr.Dataset({"final": (("dt", "rule", "seed"), final)},
                    coords={"dt": [0.1, 3.0], "rule": ["SB", "DB"], "seed": np.arange(3)})
    c = C.fig6b_delay_cost(ds)
    assert c.median_holds and c.fraction == pytest.approx(2 / 3) and C.verdict(c) == "partly"
    assert "at 3 ms / at 0.1 ms" in c.criterion and "2.00 [2.00, 2.00]-fold for SB" in c.value
    one = C.fig6b_delay_cost(ds.sel(dt=[3.0]))
    assert C.verdict(one) == "not reproduced" and "needs two delays" in one.criterion


def test_short_delay_claim_uses_the_collapse_level_at_the_shortest_delay():
    cos = np.array([[[0.90, 0.96, 0.93], [0.1, 0.1, 0.1]],     # dt = 0.1: SB apart in 2 of 3
                    [[0.99, 0.99, 0.99], [0.1, 0.1, 0.1]]])    # dt = 2: SB collapsed
    ds = xr.Dataset({"cos": (("dt", "rule", "seed"), cos)},
                    coords={"dt": [0.1, 2.0], "rule": ["SB", "DB"], "seed": np.arange(3)})
    c = C.fig6a_short_delay(ds)
    assert "0.1 ms" in c.paper and c.median_holds and c.fraction == pytest.approx(2 / 3)
    assert C.verdict(C.fig6a_collapse(ds)) == "reproduced"


def test_decay_at_own_rate_pairs_the_seeds_of_the_two_experiments():
    """The decay network of each seed is compared with the 5 Hz analytic DB of the same seed,
    whatever order the control's seeds are stored in."""
    variants = ["DB", "SB", "simultaneous", "slow", "decay"]
    final = np.full((5, 4), 0.0127)
    final[4] = [0.0246, 0.0250, 0.0300, 0.0244]  # decay, seeds 0..3
    ds = xr.Dataset({"final": (("variant", "seed"), final)},
                    coords={"variant": variants, "seed": np.arange(4)})
    ctrl = xr.Dataset({"final": (("control", "seed"), [[0.0244, 0.0240, 0.0240, 0.0245],
                                                       [0.5, 0.5, 0.5, 0.5]])},
                      coords={"control": ["DB at 5 Hz", "decay at 20 Hz"],
                              "seed": [3, 2, 0, 1]})  # seed 2 ends at 0.0240
    c = C.decay_at_own_rate(ds, ctrl)
    # ratios: seed 0 0.0246/0.0240, seed 1 0.0250/0.0245, seed 2 0.0300/0.0240 (+25 %),
    # seed 3 0.0244/0.0244
    assert c.median_holds and c.fraction == pytest.approx(0.75) and c.seeds == 4
    assert not C.decay_at_own_rate(ds, ctrl, tol=0.01).median_holds


def _fig5(sizes, sb, db):
    return xr.Dataset({"best": (("n_z", "rule", "seed"), np.stack([sb, db], axis=1))},
                      coords={"n_z": sizes, "rule": ["SB", "DB"], "seed": np.arange(2)})


def test_fig5_claims_do_not_depend_on_the_order_of_the_sizes():
    """The full and reduced presets list the sizes largest first, ci smallest first: the
    claims read them by size. Here DB's loss falls with size, SB's gap to DB is largest with
    the fewest neurons, and SB with 2n neurons does not reach DB with n."""
    sizes = [50, 100, 200]
    sb = np.array([[0.030, 0.031], [0.026, 0.027], [0.020, 0.021]])
    db = np.array([[0.020, 0.021], [0.018, 0.018], [0.016, 0.017]])
    up, down = _fig5(sizes, sb, db), _fig5(sizes[::-1], sb[::-1], db[::-1])
    for ds in (up, down):
        assert C.fig5_db_falls(ds).median_holds and C.fig5_db_falls(ds).fraction == 1.0
        assert C.fig5_db_better(ds).fraction == 1.0
        assert C.fig5_gap_grows(ds).median_holds
        assert not C.fig5_twice(ds).median_holds
        assert "50 neurons: SB" in C.fig5_db_better(ds).value
    assert C.fig5_db_falls(down).value == C.fig5_db_falls(up).value
