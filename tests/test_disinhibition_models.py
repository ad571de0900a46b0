"""Tests of the single-unit curves (Fig 3, S1, S2) and the student-teacher model (Fig 4)."""

from __future__ import annotations

import array_api_strict as xps
import numpy as np
import pytest

from eicore.backend import backend_name, get_xp, to_numpy
from eicore.disinhibition import StudentTeacher, StudentTeacherConfig
from eicore.disinhibition.single_unit import (
    FIG3_ACT,
    dw_exact,
    dw_isolated,
    dw_lin_thresh,
    greedy2022,
    meulemans2021,
    payeur2021,
    sacramento2018,
    unit_steady_state,
)
from eicore.errors import ConfigurationError

#: The active backend (EICORE_BACKEND).
XB = get_xp()


def test_unit_steady_state_solves_the_fixed_point():
    x = np.linspace(0, 10, 50)
    for r_tar in (None, 3.0):
        uE, uI = unit_steady_state(x, r_tar, steps=3000)
        rE = FIG3_ACT(uE)
        np.testing.assert_allclose(uE, x - FIG3_ACT(uI), atol=1e-6)
        ctrl = 0.0 if r_tar is None else 5.0 * (r_tar - rE)
        np.testing.assert_allclose(uI, rE - ctrl, atol=1e-6)


def test_exact_rule_sign_is_set_by_the_controller():
    x = np.linspace(0.5, 10, 60)
    uE, uI = unit_steady_state(x, 3.0, steps=3000)
    rE = FIG3_ACT(uE)
    dw = dw_exact(x, uE, uI)
    # dw = x * alpha (r_tar - r_E) phi'(u_E): LTP below the target, LTD above
    expected = x * 5.0 * (3.0 - rE) * FIG3_ACT.deriv(uE)
    np.testing.assert_allclose(dw, expected, rtol=1e-4, atol=1e-6)
    uE0, uI0 = unit_steady_state(x, None, steps=3000)
    assert np.abs(dw_exact(x, uE0, uI0)).max() < 1e-5


def test_lin_thresh_differs_from_exact_by_the_linearisation_error():
    x = np.linspace(0, 10, 40)
    uE, uI = unit_steady_state(x, 4.0)
    r0 = 1.3
    intercept, slope = FIG3_ACT.taylor_inverse(r0)
    i2, s2 = FIG3_ACT.taylor_inverse(XB.asarray(r0, dtype=XB.float64))  # scalar and array paths
    np.testing.assert_allclose([intercept, slope], [to_numpy(i2), to_numpy(s2)], rtol=1e-12)
    rI = FIG3_ACT(uI)
    diff = dw_lin_thresh(x, uE, uI, intercept, slope) - dw_exact(x, uE, uI)
    lin_err = FIG3_ACT.inv(rI) - (intercept + slope * rI)
    np.testing.assert_allclose(diff, x * lin_err * FIG3_ACT.deriv(uE), rtol=1e-6, atol=1e-9)
    u = np.linspace(0, 9, 30)
    assert np.all(dw_isolated(u, 2.0, 1.5, 1.5) <= dw_isolated(u, 0.5, 1.5, 1.5))


@pytest.mark.parametrize("model", [sacramento2018, meulemans2021, payeur2021, greedy2022])
def test_other_models_flip_sign_at_the_target(model):
    x = np.linspace(0, 10, 400)
    r, dw = model(x, 3.0)
    assert dw[(r > 1.5) & (r < 2.8) & (x > 0.1)].min() > 0
    assert dw[r > 3.2].max() < 0


def test_student_teacher_runs_and_matches_strict_backend():
    cfg = StudentTeacherConfig(epoch_T=0.2)
    outs = []
    for xp in (None, xps):
        st = StudentTeacher(cfg, seed=3, xp=xp)
        st.burn_in(1)
        st.train_epoch()
        outs.append(
            [np.array(st.history[k]) for k in ("OL", "CL", "H")]
            + [to_numpy(st.state[k]) for k in ("W1", "Q1", "uE2")]
        )
    # NumPy and the emulation compute alike; a GPU sums in another order, and over an epoch
    # of training its float32 results drift up to 2e-4 apart (measured on an H200)
    rtol = 1e-4 if backend_name() in ("numpy", "strict") else 1e-3
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6)
    OL, CL, H = outs[0][:3]
    assert OL.shape == (1, 2) and np.all(CL < OL) and np.all(H > 0)
    # same initial weights for both students: identical open-loop copies at the first epoch
    assert OL[0, 0] == OL[0, 1]


def test_student_teacher_feedback_weights_are_normalised_and_errors_are_clear():
    st = StudentTeacher(StudentTeacherConfig(epoch_T=0.1), seed=0)
    for q in (st.state["Q1"], st.state["Q2"]):
        np.testing.assert_allclose(np.sqrt((to_numpy(q) ** 2).sum(axis=(1, 2))), 7.5, rtol=1e-5)
    with pytest.raises(ConfigurationError, match="unknown rule"):
        StudentTeacher(rules=("exact", "bcm"))
    with pytest.raises(ConfigurationError, match="unknown variant"):
        StudentTeacherConfig(variant="paper")


def test_student_teacher_sizes_and_zero_jacobian():

    for bad in (dict(sizes=(30, 0, 2)), dict(sizes=(30, 20, -2)), dict(tau_W=0.0),
                dict(epoch_T=0.0)):
        with pytest.raises(ConfigurationError, match="must be positive"):
            StudentTeacherConfig(**bad)
    with pytest.raises(ConfigurationError):
        StudentTeacher(rules=())
    st = StudentTeacher(seed=2, xp=np)
    s = dict(st.state)
    s["uE2"] = s["uE2"] * 0 - 1e4  # all output units silent: phi_E' = 0, J = 0
    for J in st.jacobians(s):
        assert np.all(np.isfinite(J)) and np.all(J == 0)


def test_student_teacher_seeds_in_one_batch_match_separate_runs():
    import dataclasses

    cfg = dataclasses.replace(StudentTeacherConfig(), epoch_T=0.3, dtmax=2e-2)
    both = StudentTeacher(cfg, seed=[2, 5], xp=np)
    assert both.N == 8 and both.state["W1"].shape == (8, 30, 20)
    alone = [StudentTeacher(cfg, seed=s, xp=np) for s in (2, 5)]
    for k, a in enumerate(alone):  # same teachers, inputs and initial weights as alone
        for key in ("W1", "b2", "Q1"):
            np.testing.assert_array_equal(both.state[key][2 * k : 2 * k + 2], a.state[key][:2])
    for st in (both, *alone):
        st.burn_in(1)
        st.train_epoch()
    for k, a in enumerate(alone):
        np.testing.assert_allclose(both.history["OL"][-1][2 * k : 2 * k + 2], a.history["OL"][-1],
                                   rtol=2e-2)


def test_microcircuit_schematic_fits_the_column():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from eicore.disinhibition.report import draw_microcircuit_schematic

    fig = draw_microcircuit_schematic()
    w, h = fig.get_size_inches()
    assert w <= 7.8 and h <= 4.0
    texts = [t for t in fig.axes[0].texts if t.get_text().strip()]
    assert texts and min(t.get_fontsize() for t in texts) >= 9
    plt.close(fig)
