"""Explicit Runge-Kutta integrators with the steady-state termination test.

The authors integrate the network with diffrax (Tsit5, PID step-size control,
stop when ``rms(f(y)) < atol + rtol rms(y)``; authors' ``src/core/model.py``). This module gives the
same kind of solver in array-API code, for tests, trajectories and Fig 4:

* ``method="rk4"``: classical fixed-step RK4;
* ``method="dopri5"``: adaptive Dormand-Prince 5(4) with FSAL and an
  integral step-size controller (safety 0.9, factor in [0.1, 2], ``dtmin``/``dtmax``).

The state is a list of arrays with a leading batch axis ``B``. The step size
is shared by the batch (the error norm is the largest over the running
samples); a sample that passes the steady-state test is frozen, as in the
authors' ``vmap``-ed while loop. Chapter ``book/disinhibition/01_microcircuit.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..backend import namespace
from ..errors import ConfigurationError, ConvergenceError

__all__ = ["ODEInfo", "integrate", "METHODS"]

METHODS = ("rk4", "dopri5")

# Dormand & Prince (1980) 5(4) tableau.
_DP_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
)
_DP_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0)
_DP_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)
# error weights: b (5th order) - b* (4th order), last entry for the FSAL stage k7
_DP_E = (
    35 / 384 - 5179 / 57600,
    0.0,
    500 / 1113 - 7571 / 16695,
    125 / 192 - 393 / 640,
    -2187 / 6784 + 92097 / 339200,
    11 / 84 - 187 / 2100,
    -1 / 40,
)


@dataclass
class ODEInfo:
    """What the integrator did: final time, accepted and rejected steps, per-sample flags."""

    t: float
    n_steps: int
    n_rejected: int
    n_evals: int
    converged: object  # (B,) bool: passed the steady-state test
    t_converged: object  # (B,) time at which each sample passed it (t1 if it never did)


def _axpy(y, terms):
    """``y + sum_j h_j k_j`` for lists of arrays; ``terms`` = [(h_j, k_j), ...]."""
    out = []
    for i, yi in enumerate(y):
        acc = yi
        for h, k in terms:
            if h != 0.0:
                acc = acc + h * k[i]
        out.append(acc)
    return out


def _per_sample_ms(arrays, B, xp):
    """Mean square over all components of each sample."""
    tot, n = 0.0, 0
    for a in arrays:
        a2 = xp.reshape(a, (B, -1))
        tot = tot + xp.sum(a2 * a2, axis=1)
        n += a2.shape[1]
    return tot / n


def integrate(
    f,
    y0,
    t1,
    *,
    t0=0.0,
    method="dopri5",
    dt0=1e-3,
    rtol=1e-3,
    atol=1e-6,
    dtmin=1e-4,
    dtmax=1e-2,
    steady_state=True,
    ss_rtol=None,
    ss_atol=None,
    max_steps=4096,
    on_step=None,
):
    """Integrate ``dy/dt = f(t, y)`` from ``t0`` to ``t1`` or to steady state.

    Parameters
    ----------
    f
        ``f(t, y) -> list`` of arrays shaped like ``y``.
    y0
        List of arrays, each with leading batch axis ``B``.
    method
        ``"dopri5"`` (adaptive, default) or ``"rk4"`` (fixed step ``dt0``).
    rtol, atol, dtmin, dtmax
        Step-size control (defaults of the authors' diffrax solve in ``src/core/model.py``).
    steady_state
        Stop a sample when ``rms(f(y)) < ss_atol + ss_rtol rms(y)`` (defaults: ``atol``, ``rtol``);
        stop the solve when all have.
    on_step
        Optional ``on_step(t_old, t_new, y_old, y_new)`` called after each accepted step
        (e.g. to accumulate a time-averaged loss).

    Returns
    -------
    (y, ODEInfo)

    Raises
    ------
    eicore.errors.ConvergenceError
        As soon as a running sample's state or derivative is NaN or infinite (checked after
        every step: by the error norm of ``dopri5``, otherwise in the same device-to-host
        transfer as the steady-state test).
    """
    if method not in METHODS:
        raise ConfigurationError(f"unknown ODE method {method!r}; choose one of {METHODS}")
    ss_rtol = rtol if ss_rtol is None else ss_rtol
    ss_atol = atol if ss_atol is None else ss_atol
    xp = namespace(*y0)
    B = y0[0].shape[0]
    y = list(y0)
    t = float(t0)
    n_steps = n_rej = 0
    k1 = f(t, y)
    n_evals = 1
    done = xp.zeros((B,), dtype=xp.bool)
    t_conv = xp.full((B,), float(t1), dtype=y0[0].dtype)

    def check_ss(yy, fy, done, t_conv, tt):
        """Steady-state flags and the number of running samples, as one host float that is
        NaN if any running sample's state or derivative is NaN or infinite."""
        if not steady_state and method == "dopri5":
            return done, t_conv, float(B)  # the error norm of every step catches NaN/inf
        ms_f = _per_sample_ms(fy, B, xp)  # finite only if the state and derivative are
        if steady_state:
            lhs, rhs = xp.sqrt(ms_f), ss_atol + ss_rtol * xp.sqrt(_per_sample_ms(yy, B, xp))
            new = (lhs < rhs) & ~done
            t_conv = xp.where(new, xp.full_like(t_conv, tt), t_conv)
            done = done | new
        # 0 * inf and 0 * nan are nan: the count is finite only if every running sample is
        running = xp.sum(xp.where(done, xp.zeros_like(ms_f), 1.0 + 0.0 * ms_f))
        n_running = float(running)
        if not math.isfinite(n_running):
            raise ConvergenceError(
                f"ODE integration: the state became NaN or infinite at t = {tt:.4g}; "
                "check the weights and inputs, or lower the step size / learning rate"
            )
        return done, t_conv, n_running

    done, t_conv, n_running = check_ss(y, k1, done, t_conv, t)
    dt = float(dt0)
    eps = 1e-12 * max(1.0, abs(t1))
    while t < t1 - eps and n_running > 0 and n_steps < max_steps:
        h = min(dt, t1 - t)
        if method == "rk4":
            k2 = f(t + h / 2, _axpy(y, [(h / 2, k1)]))
            k3 = f(t + h / 2, _axpy(y, [(h / 2, k2)]))
            k4 = f(t + h, _axpy(y, [(h, k3)]))
            y_new = _axpy(y, [(h / 6, k1), (h / 3, k2), (h / 3, k3), (h / 6, k4)])
            n_evals += 3
            accept = True
        else:
            ks = [k1]
            for s in range(1, 6):
                ys = _axpy(y, [(h * a, k) for a, k in zip(_DP_A[s], ks)])
                ks.append(f(t + _DP_C[s] * h, ys))
            y_new = _axpy(y, [(h * b, k) for b, k in zip(_DP_B, ks)])
            k7 = f(t + h, y_new)
            ks.append(k7)
            n_evals += 6
            err = _axpy([xp.zeros_like(a) for a in y], [(h * e, k) for e, k in zip(_DP_E, ks)])
            scaled = [
                e / (atol + rtol * xp.maximum(xp.abs(a), xp.abs(b)))
                for e, a, b in zip(err, y, y_new)
            ]
            ms = _per_sample_ms(scaled, B, xp)
            ms = xp.where(done, xp.zeros_like(ms), ms)
            err_norm = float(xp.sqrt(xp.max(ms)))
            if not math.isfinite(err_norm):
                raise ConvergenceError(
                    f"ODE integration: the state became NaN or infinite at t = {t:.4g}; "
                    "check the weights and inputs, or lower the step size / learning rate"
                )
            accept = err_norm <= 1.0 or h <= dtmin * (1 + 1e-9)
            factor = 2.0 if err_norm == 0.0 else min(2.0, max(0.1, 0.9 * err_norm**-0.2))
            dt = min(dtmax, max(dtmin, h * factor))
        if not accept:
            n_rej += 1
            continue
        # frozen (converged) samples keep their state
        keep = [xp.reshape(done, (B,) + (1,) * (a.ndim - 1)) for a in y]
        y_new = [xp.where(m, a, b) for m, a, b in zip(keep, y, y_new)]
        if on_step is not None:
            on_step(t, t + h, y, y_new)
        t = t + h
        n_steps += 1
        y = y_new
        if method == "rk4":
            k1 = f(t, y)
            n_evals += 1
        else:
            k1 = k7
        done, t_conv, n_running = check_ss(y, k1, done, t_conv, t)
    info = ODEInfo(
        t=t, n_steps=n_steps, n_rejected=n_rej, n_evals=n_evals, converged=done, t_converged=t_conv
    )
    return y, info
