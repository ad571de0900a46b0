"""Part I figure helpers (eicore.assemblies.report): what they draw and the statistics of
Fig 1-S5 they return, against direct computations."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from eicore.assemblies.report import angles_per_trial, loss_per_trial, weight_distributions  # noqa: E402
from eicore.plotting import CONDITION_COLORS  # noqa: E402


def test_angles_are_drawn_only_for_the_matrices_that_are_plastic():
    conditions = ["plastic", "output_ko", "input_ko"]
    h = SimpleNamespace(angle_IE_median=np.full((3, 4), 40.0),
                        angle_EI_median=np.full((3, 4), 20.0), loss=np.ones((3, 4)))
    fig, ax = plt.subplots(1, 3)
    angles_per_trial(ax[1:], h, conditions)
    loss_per_trial(ax[0], h, conditions, scale=2.0)
    # input plastic in plastic and output-KO; output plastic in plastic and input-KO
    assert [line.get_label() for line in ax[1].get_lines()[:-1]] == ["plastic", "output_ko"]
    assert [line.get_label() for line in ax[2].get_lines()[:-1]] == ["plastic", "input_ko"]
    assert all(line.get_ydata()[0] == 90 for line in (ax[1].get_lines()[-1], ax[2].get_lines()[-1]))
    colors = [line.get_color() for line in ax[0].get_lines()]
    assert colors == [CONDITION_COLORS[c] for c in conditions]
    np.testing.assert_array_equal(ax[0].get_lines()[0].get_ydata(), 0.5)
    plt.close(fig)


def test_weight_statistics_match_a_direct_count():
    rng = np.random.default_rng(0)
    w = 10 ** rng.uniform(-7, 0, size=(2, 30, 20))
    z = (rng.random(w.shape) < 0.6).astype(float)
    before = SimpleNamespace(W_EI=w[:, ::-1] * z, W_IE=w * z)
    after = SimpleNamespace(W_EI=w, W_IE=w[:, :, ::-1], z_EI=z, z_IE=z)
    fig, ax = plt.subplots(1, 2)
    bins = np.arange(-7, 0.51, 0.5)
    s = weight_distributions(ax, before, after, 1, bins, theta=1e-4)
    kept = w[1][z[1] > 0]
    assert s["EI"]["below"] == pytest.approx(np.mean(kept < 1e-4))
    assert s["EI"]["upper"] == pytest.approx(np.mean(kept > 1e-2))
    assert s["EI"]["max"] == pytest.approx(kept.max())
    counts, edges = np.histogram(np.log10(kept), bins=bins)
    assert s["EI"]["mode"] == pytest.approx(edges[np.argmax(counts)] + 0.25)
    assert [a.get_title() for a in ax] == ["PV→Pyr", "Pyr→PV"]
    plt.close(fig)
