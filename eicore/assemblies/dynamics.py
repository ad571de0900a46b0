"""Steady states of the Wilson-Cowan rate dynamics (Eq 1), batched over networks and stimuli.

``tau dh/dt = -h + M [h]_+ + b`` with ``M = [[W_EE, -W_EI], [W_IE, -W_II]]`` and drive
``b = (I(s) + I_bg, I_bg)``. The leak acts on ``h`` as in Eq 1 of the paper (the authors'
code leaks ``r``, so silent units drift there; see chapter ``01_model``).

:func:`steady_state` integrates with a large forward-Euler step (``dt = 20 ms`` by default)
from a cold or warm start until the residual ``max |-h + M r + b|`` is below ``tol`` (Hz) for
every stimulus, each network with its own step and convergence test;
:func:`euler_reference` is the plain small-step integration it is validated against
(tests: agreement within 0.05 Hz).
"""

from __future__ import annotations

from typing import Any

from ..backend import host, namespace, to_numpy
from ..errors import ConfigurationError, ConvergenceError, ShapeError
from .network import check_positive

__all__ = ["authors_steady_state", "cold_start", "euler_reference", "residual", "steady_state"]


def residual(M: Any, b: Any, h: Any) -> Any:
    """``-h + M [h]_+ + b`` for ``h (B,S,N)``, ``M (B,N,N)``, ``b (S,N)`` or ``(B,S,N)``."""
    xp = namespace(M, h)
    r = xp.maximum(h, 0.0)
    return xp.matmul(r, xp.matrix_transpose(M)) + b - h


def cold_start(B: int, S: int, NE: int, NI: int, xp: Any, dtype: Any, rho0: float = 1.0,
               h_I: float = 5.0) -> Any:
    """The authors' initial state: ``h_E = rho0`` (1 Hz) and ``h_I = 5`` Hz."""
    check_positive(B=B, S=S, NE=NE, NI=NI)
    h = xp.concat([xp.full((B, S, NE), rho0, dtype=dtype), xp.full((B, S, NI), h_I, dtype=dtype)],
                  axis=2)
    return h


def _check(M: Any, b: Any, h: Any) -> None:
    if M.ndim != 3 or M.shape[1] != M.shape[2]:
        raise ShapeError(f"M must have shape (B, N, N), got {tuple(M.shape)}")
    N = M.shape[1]
    if h.ndim != 3 or h.shape[0] != M.shape[0] or h.shape[2] != N:
        raise ShapeError(f"h must have shape (B={M.shape[0]}, S, N={N}), got {tuple(h.shape)}")
    if b.shape[-1] != N or b.shape[-2] != h.shape[1]:
        raise ShapeError(f"drive b must have shape (S={h.shape[1]}, N={N}) or (B, S, N), "
                         f"got {tuple(b.shape)}")


def steady_state(
    M: Any,
    b: Any,
    h0: Any,
    tau: Any,
    *,
    dt: float = 20.0,
    tol: float = 0.05,
    max_steps: int = 2000,
    min_dt: float = 1.0,
    raise_on_fail: bool = True,
    info: dict | None = None,
) -> tuple[Any, int]:
    """Fixed point of Eq 1 by large-step forward Euler from ``h0``; returns ``(h, steps)``.

    Every network of the batch is integrated on its own: it has its own step (halved
    whenever its residual grows tenfold or stalls for 12 steps, an Euler oscillation, but
    never below ``min_dt``) and its own convergence test, and it is frozen once its
    residual is below ``tol``. A network therefore follows the same trajectory in any batch
    as alone (bitwise, where the backend's batched matrix product equals the single one),
    also when another network of the batch needs more steps or smaller steps.

    Parameters
    ----------
    M : (B, N, N) signed connectivity (:meth:`Network.full_matrix`).
    b : (S, N) or (B, S, N) external drive.
    h0 : (B, S, N) start (cold start: :func:`cold_start`; warm start: a previous solution).
    tau : (N,) time constants in ms; the step is ``dt / tau`` (0.4 for Pyr, 0.8 for PV).
    tol : a network has converged when ``max |-h + M r + b| < tol`` (Hz) over its stimuli
        and units.
    min_dt : the smallest step in ms (default 1 ms, the authors' Euler step). Near a stable
        fixed point the largest residual can rise for a while along the exact trajectory (the
        dynamics are not normal); without a floor the stall rule would read that rise as an
        oscillation and halve the step again and again until the state froze.
    max_steps : give up after this many steps: :class:`ConvergenceError` (naming the
        networks that did not converge) unless ``raise_on_fail=False``. A state that becomes
        NaN or infinite raises :class:`ConvergenceError` at once, whatever ``raise_on_fail``.
    info : optional dict that receives ``halvings`` (the largest number of step halvings
        of any network), ``halvings_per_network`` and ``steps_per_network`` (host arrays).

    Returns the states and the number of steps of the slowest network.
    """
    _check(M, b, h0)
    check_positive(max_steps=max_steps)
    if not (dt > 0 and min_dt > 0):
        raise ConfigurationError(f"dt and min_dt must be positive (ms), got dt={dt!r}, "
                                 f"min_dt={min_dt!r}")
    xp = namespace(M, h0)
    B = M.shape[0]
    base = dt / tau
    h = h0
    Mt = xp.matrix_transpose(M)
    factor = host.ones(B)  # per-network step factor (a power of 1/2)
    best = host.full(B, host.inf)
    since = host.zeros(B, dtype=host.int64)
    halvings = host.zeros(B, dtype=host.int64)
    steps = host.full(B, max_steps, dtype=host.int64)
    active = host.ones(B, dtype=bool)
    err = host.full(B, host.inf)
    n = 0
    for n in range(max_steps + 1):
        F = xp.matmul(xp.maximum(h, 0.0), Mt) + b - h
        err = to_numpy(xp.max(xp.reshape(xp.abs(F), (B, -1)), axis=1)).astype(host.float64)
        bad = active & ~host.isfinite(err)
        if bad.any():
            raise ConvergenceError(
                f"steady state became NaN or infinite at step {n} in network(s) "
                f"{host.flatnonzero(bad).tolist()} of {B}; the network is unstable (too "
                "little inhibition) or the step dt is too large")
        done = active & (err < tol)
        steps[done] = n
        active &= ~done
        if not active.any():
            break
        if n == max_steps:
            break
        better = active & (err < best)
        since = host.where(better, 0, since + active)
        best = host.where(better, err, best)
        halve = active & ((since >= 12) | (err > 10.0 * best)) & (0.5 * factor * dt >= min_dt)
        if halve.any():
            factor = host.where(halve, factor * 0.5, factor)
            since = host.where(halve, 0, since)
            best = host.where(halve, err, best)
            halvings += halve
        f = xp.reshape(xp.asarray(host.where(active, factor, 0.0), dtype=h.dtype), (B, 1, 1))
        h = h + (f * base) * F
    if info is not None:
        info["halvings"] = int(halvings.max())
        info["halvings_per_network"] = halvings
        info["steps_per_network"] = steps
    if active.any():
        if raise_on_fail:
            worst = float(err[active].max())
            raise ConvergenceError(
                f"steady state not reached in {max_steps} steps in network(s) "
                f"{host.flatnonzero(active).tolist()} of {B} (residual {worst:.3g} Hz > tol "
                f"{tol} Hz); reduce dt, raise max_steps, or check that the network is stable "
                "(too little inhibition)"
            )
        return h, max_steps
    return h, int(steps.max())


def euler_reference(M: Any, b: Any, h0: Any, tau: Any, *, dt: float = 0.1, T: float = 3000.0
                    ) -> Any:
    """Plain forward Euler of Eq 1 with a small step ``dt`` (ms) for a time ``T`` (ms).

    Raises :class:`ConvergenceError` as soon as the state becomes NaN or infinite (checked
    every 100 steps and at the end)."""
    _check(M, b, h0)
    xp = namespace(M, h0)
    step = dt / tau
    h = h0
    Mt = xp.matrix_transpose(M)
    n_steps = int(round(T / dt))
    for k in range(n_steps):
        h = h + step * (xp.matmul(xp.maximum(h, 0.0), Mt) + b - h)
        if (k + 1) % 100 == 0 or k + 1 == n_steps:
            if not bool(xp.all(xp.isfinite(h))):
                raise ConvergenceError(
                    f"Euler integration became NaN or infinite after {k + 1} steps "
                    f"({(k + 1) * dt:g} ms); the network is unstable or dt too large")
    return h


def authors_steady_state(
    M: Any,
    b: Any,
    tau: Any,
    NE: int,
    *,
    dt: float = 1.0,
    max_dr: float = 0.5,
    rho0: float = 1.0,
    h_I0: float = 5.0,
    r_max: float = 1000.0,
    max_steps: int = 1500,
) -> tuple[Any, Any, Any]:
    """The steady-state solver of the authors' code (``mode="authors"``; chapter ``01_model``).

    Forward Euler with step ``dt`` (1 ms) from a cold start (``r_E = h_E = rho0``,
    ``r_I = h_I = h_I0``) with the leak on the *rate*: ``h += dt/tau (M r + b - r)``,
    ``r = clip(h, 0, r_max)``. A unit with ``h < 0`` therefore integrates its net input without
    a leak, and its ``h`` drifts until the active units have converged. A solve stops when
    ``max |M r + b - r| < max_dr`` (Hz) over the active units (``0 <= h <= r_max``) of each
    population; every network and stimulus of the batch stops on its own.

    ``M (B, N, N)``, ``b (S, N)`` or ``(B, S, N)``, ``tau (N,)``. Returns ``(h, converged,
    steps)``: ``h (B, S, N)`` (drifted for silent units), ``converged (B, S)`` and ``steps
    (B, S)`` (host arrays; no error if a solve does not converge: the authors' training skips
    the update instead).
    """
    xp = namespace(M)
    check_positive(NE=NE, max_steps=max_steps)
    B, N = M.shape[0], M.shape[1]
    S = b.shape[-2]
    h = cold_start(B, S, NE, N - NE, xp, M.dtype, rho0=rho0, h_I=h_I0)
    if b.ndim == 2:
        b = xp.broadcast_to(b[None, ...], (B, S, N))
    Mt = xp.matrix_transpose(M)
    step = dt / tau
    thr = to_numpy(step).astype(host.float64)[[0, NE]] * max_dr  # (E, I) thresholds on |dh|
    active = host.ones((B, S), dtype=bool)
    steps = host.full((B, S), max_steps, dtype=host.int64)
    for n in range(max_steps):
        r = xp.clip(h, 0.0, r_max)
        d = step * (xp.matmul(r, Mt) + b - r)
        mask = xp.reshape(xp.asarray(active, dtype=h.dtype), (B, S, 1))
        h = h + mask * d
        inside = (h >= 0.0) & (h <= r_max)
        ad = xp.where(inside, xp.abs(d), xp.zeros_like(d))
        gE = to_numpy(xp.max(ad[..., :NE], axis=2))
        gI = to_numpy(xp.max(ad[..., NE:], axis=2))
        if not (host.isfinite(gE).all() and host.isfinite(gI).all()):
            raise ConvergenceError(f"authors' solver became NaN or infinite at step {n + 1}")
        done = active & (gE < thr[0]) & (gI < thr[1])
        steps[done] = n + 1
        active &= ~done
        if not active.any():
            break
    return h, ~active, steps
