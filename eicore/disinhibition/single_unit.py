"""Plasticity curves of a single E/I microcircuit unit (Fig 3, S2) and of other models (Fig S1).

Rossbroich & Zenke (2023), authors' ``notebooks/Figure 3.ipynb``,
``notebooks/Supplementary Figure S1.ipynb`` and ``notebooks/Supplementary Figure S2.ipynb``;
chapters ``03_fig3_single_unit.ipynb`` and ``04_figS1_S2.ipynb``. Scalar E and I units,
time in units of tau, forward Euler with ``dt = 1/50`` for 600 steps from rest::

    du_E = -u_E - w_IE phi_I(u_I) + w_XE x
    du_I = -u_I + w_EI phi_E(u_E) + w_XI x  [- alpha (r_tar - phi_E(u_E))  with a target]
    dw_exact  = x (w_EI r_E - phi_I^-1(r_I)) phi_E'(u_E)
    dw_linthr = x (w_EI r_E - (theta + delta r_I)) phi_E'(u_E)

All functions are batched over the input ``x`` (any shape).
"""

from __future__ import annotations

from ..backend import namespace
from .activation import SoftReLU

__all__ = [
    "FIG3_ACT",
    "dw_exact",
    "dw_isolated",
    "dw_lin_thresh",
    "greedy2022",
    "meulemans2021",
    "payeur2021",
    "sacramento2018",
    "unit_steady_state",
]

#: Activation of the Fig 3 / S2 unit: ``SoftReLU(1, 1, shift 3)``.
FIG3_ACT = SoftReLU(1.0, 1.0, 3.0)
_S1_ACT = SoftReLU()


def unit_steady_state(
    x,
    r_tar=None,
    *,
    alpha=5.0,
    act_E=FIG3_ACT,
    act_I=FIG3_ACT,
    w_XE=1.0,
    w_IE=1.0,
    w_EI=1.0,
    w_XI=0.0,
    dt=1 / 50,
    steps=600,
):
    """``(u_E, u_I)`` after ``steps`` Euler steps from zero; dis-inhibitory control towards
    rate ``r_tar`` (scalar or array broadcasting with ``x``) if given."""
    xp = namespace(x)
    uE = xp.zeros_like(x)
    uI = xp.zeros_like(x)
    for _ in range(steps):
        rE = act_E(uE)
        duE = -uE - w_IE * act_I(uI) + w_XE * x
        duI = -uI + w_EI * rE + w_XI * x
        if r_tar is not None:
            duI = duI - alpha * (r_tar - rE)
        uE, uI = uE + dt * duE, uI + dt * duI
    return uE, uI


def dw_exact(x, uE, uI, act_E=FIG3_ACT, act_I=FIG3_ACT, w_EI=1.0):
    """Exact-inverse rule ``x (w_EI r_E - phi_I^-1(r_I)) phi_E'(u_E)``."""
    return x * (w_EI * act_E(uE) - act_I.inv(act_I(uI))) * act_E.deriv(uE)


def dw_lin_thresh(x, uE, uI, theta, delta, act_E=FIG3_ACT, act_I=FIG3_ACT, w_EI=1.0):
    """Linear-threshold rule ``x (w_EI r_E - (theta + delta r_I)) phi_E'(u_E)``."""
    return x * (w_EI * act_E(uE) - (theta + delta * act_I(uI))) * act_E.deriv(uE)


def dw_isolated(u, r_I, theta, delta, act=FIG3_ACT):
    """Fig 3C: isolated neuron with ``u_E = u`` and inhibitory rate clamped to ``r_I``:
    ``u phi'(u) (phi(u) - theta - delta r_I)``."""
    return u * act.deriv(u) * (act(u) - theta - delta * r_I)


# ---------------------------------------------------------------- Fig S1: other models
def sacramento2018(
    x,
    target=None,
    *,
    r_I=None,
    act=_S1_ACT,
    g_lk=0.1,
    g_B=1.0,
    g_A=0.8,
    g_D=1.0,
    w_IE=-0.55,
    w_EI=1.0,
    dt=1 / 50,
    steps=600,
):
    """Dendritic-prediction microcircuit (Sacramento et al. 2018): one pyramidal/interneuron pair.

    Basal potential ``v_b = x``, apical ``v_a = w_IE phi(u_I) (+ target)``; soma
    ``du = -g_lk u + g_B (v_b - u) + g_A (v_a - u)``; interneuron
    ``du_I = -g_lk u_I + g_D (w_EI phi(u) - u_I) (+ target)``.
    Rule ``dw = x (phi(u) - phi(v_b g_B / (g_lk + g_B + g_A)))``.
    With ``r_I`` given: isolated neuron, apical potential ``-r_I``, soma at its steady state.
    Returns ``(r_E, dw)``.
    """
    xp = namespace(x)
    g = g_lk + g_B + g_A
    if r_I is not None:
        u = (g_B * x - g_A * r_I) / g
    else:
        u = xp.zeros_like(x)
        uI = xp.zeros_like(x)
        for _ in range(steps):
            v_a = w_IE * act(uI) + (0.0 if target is None else target)
            du = -g_lk * u + g_B * (x - u) + g_A * (v_a - u)
            duI = -g_lk * uI + g_D * (w_EI * act(u) - uI) + (0.0 if target is None else target)
            u, uI = u + dt * du, uI + dt * duI
    return act(u), x * (act(u) - act(x * g_B / g))


def meulemans2021(x, target=None, *, r_I=None, act=_S1_ACT, alpha=1.0, dt=1 / 50, steps=600):
    """Deep-feedback-control neuron (Meulemans et al. 2021, 2022): ``du = -u + x + alpha (r_tar -
    phi(u))``, rule ``dw = x (u - v_b)`` with basal potential ``v_b = x``. With ``r_I``:
    somatic inhibition clamps ``u = x - r_I``. Returns ``(r_E, dw)``."""
    xp = namespace(x)
    if r_I is not None:
        u = x - r_I
    else:
        u = xp.zeros_like(x)
        for _ in range(steps):
            du = -u + x
            if target is not None:
                du = du + alpha * (target - act(u))
            u = u + dt * du
    return act(u), x * (u - x)


def _sigmoid(z):
    xp = namespace(z)
    return 1.0 / (1.0 + xp.exp(-z))


def payeur2021(x, target=None, *, act=_S1_ACT, alpha=0.0, beta=1.0):
    """Burst-dependent plasticity (Payeur et al. 2021): event rate ``e = phi(x)``, burst
    probability ``p = sigmoid(beta u + alpha)`` with apical input ``u = r_tar - e`` (0 without a
    target); ``dw = x e (p - p_bar)``, ``p_bar = sigmoid(alpha)``. Returns ``(e, dw)``."""
    e = act(x)
    u = (target - e) if target is not None else 0.0 * e
    p = _sigmoid(beta * u + alpha)
    return e, x * e * (p - _sigmoid(alpha + 0.0 * e))


def greedy2022(x, target=None, *, r_I=None, act=_S1_ACT, alpha=4.0, beta=0.0, w_EO=1.0, w_Y=1.0):
    """BurstCCN (Greedy et al. 2022), one hidden and one output unit. Output burst probability
    ``p_out = p_b (1 - (r_tar - e_out) h_out)``, hidden apical input
    ``u = w_Y (p_b e_out - b_out)``,
    ``p = sigmoid(alpha u h + beta)``, ``dw = x e (p - p_b)``, with ``h = phi'(v) / phi(v)``.
    With ``r_I``: apical input clamped to ``-r_I``. Returns ``(e, dw)``."""
    sig_bar = lambda z: _sigmoid(alpha * z + beta)
    e = act(x)
    h = act.deriv(x) / e
    p_b = sig_bar(0.0 * e)
    if r_I is not None:
        u = -r_I + 0.0 * e
    else:
        e_out = act(w_EO * e)
        h_out = act.deriv(w_EO * e) / e_out
        err = -(target - e_out) if target is not None else 0.0 * e
        b_out = e_out * (p_b + p_b * err * h_out)
        u = p_b * w_Y * e_out - w_Y * b_out
    p = sig_bar(u * h)
    return e, x * e * (p - p_b)
