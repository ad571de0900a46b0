"""Steady states of the E/I microcircuit network: ODE integration and fast fixed-point solvers.

Two ways to the same steady state (chapter ``book/disinhibition/01_microcircuit.ipynb``):

* :func:`integrate_network` integrates the vector field (authors' ``src/core/model.py``) with
  :func:`eicore.disinhibition.ode.integrate` until the steady-state test holds,
  as the authors' diffrax solve (authors' ``src/core/model.py``).
* :func:`open_loop_steady_state` and :func:`closed_loop_steady_state` solve the
  steady-state equations directly (this book's solver,
  chapter ``01_microcircuit``). At a steady state
  ``u^E_l + phi_I(phi_E(u^E_l) - q_l) = a_l`` elementwise, with ``q_l = Q_l^T c``;
  the left side is convex and increasing in ``u^E_l`` (slope >= 1), so Newton's
  method converges from any start. In closed loop the controller obeys
  ``c = K e(a_out + c)`` with ``K = k_p + k_i / leak``; an outer iteration alternates
  a forward pass at fixed ``c`` with the solution of this output equation.
"""

from __future__ import annotations

import math

from ..backend import namespace
from ..errors import ConvergenceError
from .network import MicrocircuitConfig, Params, State, check_inputs, output_error, softmax
from .ode import integrate

__all__ = [
    "closed_loop_steady_state",
    "feedback_drive",
    "integrate_network",
    "open_loop_steady_state",
    "solve_layer",
    "vector_field",
]


def feedback_drive(Q_l, c):
    """``q_l = Q_l^T c`` per sample.

    ``(..., B, n_out, n_l)`` and ``(..., B, n_out)`` -> ``(..., B, n_l)``.
    """
    xp = namespace(Q_l, c)
    return xp.matmul(c[..., None, :], Q_l)[..., 0, :]


def controller_output(cfg: MicrocircuitConfig, u_out, c_int, y_star):
    """``c = k_p e + k_i c_int`` and the error ``e`` (authors' ``src/core/model.py``)."""
    e = output_error(u_out, y_star, cfg.loss)
    return cfg.controller.k_p * e + cfg.controller.k_i * c_int, e


def vector_field(state: State, params: Params, cfg: MicrocircuitConfig, x, Q=None, y_star=None):
    """Time derivatives of all state variables (authors' ``src/core/model.py``).

    Open loop when ``y_star`` is None (``c = 0``, ``c_int`` frozen); closed loop otherwise,
    with per-sample feedback weights ``Q`` (list of ``(B, n_out, n_l)``).
    """
    xp = namespace(x)
    closed = y_star is not None
    if closed:
        c, e = controller_output(cfg, state.u_out, state.c_int, y_star)
    r = x
    duE, duI = [], []
    for l, (W, b) in enumerate(zip(params.W, params.b)):
        a = xp.matmul(r, W) + b
        uE, uI = state.uE[l], state.uI[l]
        rE = cfg.act_E(uE)
        drive_I = rE - feedback_drive(Q[l], c) if closed else rE
        duE.append((-uE + a - cfg.act_I(uI)) / cfg.tau_E)
        duI.append((-uI + drive_I) / cfg.tau_I)
        r = rE
    a_out = xp.matmul(r, params.W_out)
    if closed:
        du_out = (-state.u_out + a_out + c) / cfg.tau_E
        dc = (e - cfg.controller.leak * state.c_int) / cfg.controller.tau
    else:
        du_out = (-state.u_out + a_out) / cfg.tau_E
        dc = xp.zeros_like(state.c_int)
    return State(duE, duI, du_out, dc)


def integrate_network(params, cfg, x, *, Q=None, y_star=None, init=None, T=2.0, **ode_kw):
    """Steady state by ODE integration from ``init`` (default: all zeros), like the authors.

    Closed loop if ``y_star`` is given. ``ode_kw`` go to :func:`eicore.disinhibition.ode.integrate`
    (defaults: adaptive Dormand-Prince, rtol 1e-3, atol 1e-6, dt in [1e-4, 1e-2] s, T = 2 s).
    Returns ``(State, ODEInfo)``.
    """
    check_inputs(params, x, y_star, Q)
    if y_star is not None and Q is None:
        raise ValueError("closed loop needs feedback weights Q (see feedback_weights)")
    if init is None:
        init = State.zeros(params, x.shape[-2])

    def f(t, y):
        return vector_field(State.from_flat(y), params, cfg, x, Q, y_star).flat()

    y, info = integrate(f, init.flat(), T, **ode_kw)
    return State.from_flat(y), info


def _check_finite(worst, what):
    """Raise :class:`ConvergenceError` at once if a solver's state became NaN or infinite."""
    if not math.isfinite(worst):
        raise ConvergenceError(
            f"{what}: the state became NaN or infinite; check the weights and inputs for "
            "NaN/inf, or lower the learning rate"
        )


def solve_layer(cfg: MicrocircuitConfig, a, q=None, u=None, tol=1e-5, max_iter=50):
    """Newton solve of ``u + phi_I(phi_E(u) - q) = a`` elementwise; returns ``(u^E, n_iter)``.

    The left side is convex and increasing (slope in ``[1, 1 + s_E b_E s_I b_I]``), so
    Newton iterates converge monotonically after the first step, from any start ``u``.
    A unit has converged when ``|residual| <= tol + 4 eps |a|`` (``eps`` of the dtype): the
    rounding of ``u + phi_I - a`` grows with ``|a|``, so a fixed absolute tolerance cannot
    be met in float32 once ``|a|`` is in the hundreds although ``u`` is exact there.
    Raises :class:`eicore.errors.ConvergenceError` as soon as the state is NaN or infinite.
    """
    xp = namespace(a)
    if u is None:
        u = 0.5 * a
    actE, actI = cfg.act_E, cfg.act_I
    bound = tol + (4.0 * float(xp.finfo(a.dtype).eps)) * xp.abs(a)
    for it in range(1, max_iter + 1):
        rE = actE(u)
        v = rE if q is None else rE - q
        rI = actI(v)
        g = u + rI - a
        worst = float(xp.max(xp.abs(g) - bound))
        if worst <= 0.0:
            return u, it
        _check_finite(worst, "layer Newton solve")
        dg = 1.0 + actI.deriv_from_rate(rI) * actE.deriv_from_rate(rE)
        u = u - g / dg
    raise ConvergenceError(
        f"layer Newton solve did not reach |residual| <= {tol} + 4 eps |a| in {max_iter} "
        "iterations; raise tol or max_iter"
    )


def open_loop_steady_state(
    params: Params, cfg: MicrocircuitConfig, x, *, tol=1e-5, max_iter=50, init: State | None = None
) -> State:
    """Open-loop steady state (``c = 0``) by per-layer Newton (this book's solver,
    chapter ``01_microcircuit``).

    ``u^I_l = phi_E(u^E_l)``, ``u_out = W_out^T r_L``, ``c_int = 0``.
    """
    check_inputs(params, x)
    xp = namespace(x)
    r = x
    uE, uI = [], []
    for l, (W, b) in enumerate(zip(params.W, params.b)):
        a = xp.matmul(r, W) + b
        u, _ = solve_layer(cfg, a, None, None if init is None else init.uE[l], tol, max_iter)
        r = cfg.act_E(u)
        uE.append(u)
        uI.append(r)
    u_out = xp.matmul(r, params.W_out)
    return State(uE, uI, u_out, xp.zeros_like(u_out))


def _solve_output(cfg, a_out, y_star, c, tol, max_iter=50):
    """Solve ``c = K e(a_out + c)`` for ``c`` per sample.

    MSE: closed form. CE: Newton on ``F(c) = c - K (y* - softmax(a_out + c))``, whose
    Jacobian ``I + K (diag(s) - s s^T)`` is diagonal plus rank one and is inverted in closed
    form (Sherman-Morrison; the denominator ``1 - K sum s_i^2 / (1 + K s_i)`` is at least
    ``1 / (1 + K)``). Converges quadratically: two to four iterations from a warm start.
    """
    xp = namespace(a_out)
    K = cfg.controller.gain
    if cfg.loss == "mse":
        return K * (y_star - a_out) / (1.0 + K)
    floor = 16.0 * float(xp.finfo(a_out.dtype).eps) * max(K, 1.0)  # rounding noise of c
    tol = max(tol, floor)
    for _ in range(max_iter):
        s = softmax(a_out + c)
        F = c - K * (y_star - s)
        Dinv = 1.0 / (1.0 + K * s)
        FD, sD = F * Dinv, s * Dinv
        num = xp.sum(s * FD, axis=-1, keepdims=True)
        den = 1.0 - K * xp.sum(s * sD, axis=-1, keepdims=True)
        dc = FD + (K * num / den) * sD
        c = c - dc
        worst = float(xp.max(xp.abs(dc)))
        if worst <= tol:
            return c
        _check_finite(worst, "closed-loop output solve")
    return c


#: Damping factors of the closed-loop outer iteration, tried in turn (see
#: :func:`closed_loop_steady_state`).
CL_DAMPING = (1.0, 0.5, 0.25)


def closed_loop_steady_state(
    params: Params,
    cfg: MicrocircuitConfig,
    x,
    Q,
    y_star,
    *,
    init: State | None = None,
    tol=1e-6,
    max_iter=100,
    layer_tol=1e-5,
    return_iterations=False,
):
    """Closed-loop steady state by an outer fixed-point iteration on the controller
    (this book's solver, chapter ``01_microcircuit``).

    Each outer iteration: forward pass with ``q_l = Q_l^T c`` (per-layer Newton, warm
    started), then solve the output equation ``c = K e(W_out^T r_L + c)`` for ``G(c)``, and
    move to ``c + beta (G(c) - c)``. Stops when ``max |G(c) - c| <= tol``. ``init`` (e.g.
    the open-loop steady state, as the authors) supplies the warm start.

    The plain iteration (``beta = 1``) converges in about ten outer iterations on almost
    every batch. When the map overshoots (a sample whose controller flips between two values,
    the period-2 orbit of an eigenvalue of the map's Jacobian at or below -1), the
    iteration restarts from ``init`` with the next damping factor of :data:`CL_DAMPING`,
    which pulls such eigenvalues back inside the unit circle; the fixed point, and so the
    result, is the same. A damped attempt moves ``beta`` times as far per iteration, so it
    gets ``max_iter / beta`` iterations. If every factor fails on float32 inputs, the batch
    is solved once more in float64 with the hidden layers solved ten times tighter than
    ``tol`` (``layer_tol = tol / 10``) and the state is cast back: with the layers solved
    only to ``layer_tol`` the map is evaluated too inexactly for ``tol``, and a rare sample
    that also needs damping can then stall just above ``tol`` (seen in a Fashion-MNIST
    3x256 run, at ``|dc|`` of about 3e-5). Batches that converge in float32 never take this
    path. Only if that fails too does it raise :class:`~eicore.errors.ConvergenceError`.
    ``return_iterations`` counts the outer iterations of all attempts.

    The returned state satisfies ``r^E_l - u^I_l = Q_l^T c`` and ``a_out - u_out + c = 0``
    to the rounding of the input dtype (exactly as computed in that dtype; to float32
    rounding after the float64 retry, whose state is cast back), and ``c_int = e / leak``.
    """
    check_inputs(params, x, y_star, Q)
    xp = namespace(x)
    try:
        state, n_outer = _closed_loop(params, cfg, x, Q, y_star, init, tol, max_iter, layer_tol)
    except ConvergenceError as first:
        if x.dtype == xp.float64:
            raise
        up = lambda a: xp.astype(a, xp.float64)
        p64 = params.with_arrays([up(a) for a in params.arrays()])
        init64 = None if init is None else State.from_flat([up(a) for a in init.flat()])
        try:
            state64, n64 = _closed_loop(p64, cfg, up(x), [up(q) for q in Q], up(y_star),
                                        init64, tol, max_iter, min(layer_tol, 0.1 * tol))
        except ConvergenceError as second:
            raise ConvergenceError(f"{first}; nor in float64 ({second})") from None
        state = State.from_flat([xp.astype(a, x.dtype) for a in state64.flat()])
        n_outer = getattr(first, "n_outer", 0) + n64
    return (state, n_outer) if return_iterations else state


def _closed_loop(params, cfg, x, Q, y_star, init, tol, max_iter, layer_tol):
    """The damped outer iteration of :func:`closed_loop_steady_state` in the inputs' dtype;
    ``(state, outer iterations)``, or :class:`ConvergenceError` (with ``n_outer``)."""
    xp = namespace(x)
    a1 = xp.matmul(x, params.W[0]) + params.b[0]
    n_outer = 0
    for beta in CL_DAMPING:
        uE = list(init.uE) if init is not None else [None] * params.n_hidden_layers
        c = xp.zeros_like(y_star)
        for _ in range(round(max_iter / beta)):
            n_outer += 1
            r = None
            for l in range(params.n_hidden_layers):
                a = a1 if l == 0 else xp.matmul(r, params.W[l]) + params.b[l]
                uE[l], _ = solve_layer(cfg, a, feedback_drive(Q[l], c), uE[l], layer_tol)
                r = cfg.act_E(uE[l])
            a_out = xp.matmul(r, params.W_out)
            c_new = _solve_output(cfg, a_out, y_star, c, tol * 0.1)
            delta = float(xp.max(xp.abs(c_new - c)))
            _check_finite(delta, "closed-loop fixed point")
            if delta <= tol:
                c = c_new
                break
            c = c_new if beta == 1.0 else c + beta * (c_new - c)
        else:
            continue
        break
    else:
        err = ConvergenceError(
            f"closed-loop fixed point did not converge at any damping {CL_DAMPING} "
            f"({max_iter} / damping outer iterations each; last |dc| = {delta:.2e}); integrate "
            f"the ODE instead (integrate_network)"
        )
        err.n_outer = n_outer
        raise err
    uI = [cfg.act_E(u) - feedback_drive(q, c) for u, q in zip(uE, Q)]
    u_out = a_out + c
    e = output_error(u_out, y_star, cfg.loss)
    return State(uE, uI, u_out, e / cfg.controller.leak), n_outer


def control_signal(cfg: MicrocircuitConfig, state: State, y_star):
    """Controller output ``c`` of a state."""
    return controller_output(cfg, state.u_out, state.c_int, y_star)[0]
