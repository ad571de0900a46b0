"""Steady states of the Wilson-Cowan rate dynamics (Eq 1), batched over networks and stimuli.

``tau dh/dt = -h + M [h]_+ + b`` with ``M = [[W_EE, -W_EI], [W_IE, -W_II]]`` and drive
``b = (I(s) + I_bg, I_bg)``. The leak acts on ``h`` as in Eq 1 of the paper (the authors'
code leaks ``r``, so silent units drift there; see chapter ``01_model``).

:func:`steady_state` integrates with a large forward-Euler step (``dt = 20 ms`` by default)
from a cold or warm start until the residual ``max |-h + M r + b|`` is below ``tol`` (Hz) for
every network and stimulus; :func:`euler_reference` is the plain small-step integration it is
validated against (tests: agreement within 0.05 Hz).
"""

from __future__ import annotations

from typing import Any

from ..backend import namespace
from ..errors import ConvergenceError, ShapeError

__all__ = ["cold_start", "euler_reference", "residual", "steady_state"]


def residual(M: Any, b: Any, h: Any) -> Any:
    """``-h + M [h]_+ + b`` for ``h (B,S,N)``, ``M (B,N,N)``, ``b (S,N)`` or ``(B,S,N)``."""
    xp = namespace(M, h)
    r = xp.maximum(h, 0.0)
    return xp.matmul(r, xp.matrix_transpose(M)) + b - h


def cold_start(B: int, S: int, NE: int, NI: int, xp: Any, dtype: Any, rho0: float = 1.0,
               h_I: float = 5.0) -> Any:
    """The authors' initial state: ``h_E = rho0`` (1 Hz) and ``h_I = 5`` Hz."""
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
    raise_on_fail: bool = True,
    info: dict | None = None,
) -> tuple[Any, int]:
    """Fixed point of Eq 1 by large-step forward Euler from ``h0``; returns ``(h, steps)``.

    Parameters
    ----------
    M : (B, N, N) signed connectivity (:meth:`Network.full_matrix`).
    b : (S, N) or (B, S, N) external drive.
    h0 : (B, S, N) start (cold start: :func:`cold_start`; warm start: a previous solution).
    tau : (N,) time constants in ms; the step is ``dt / tau`` (0.4 for Pyr, 0.8 for PV).
    tol : stop when ``max |-h + M r + b| < tol`` (Hz) over all networks, stimuli and units.
    max_steps : give up after this many steps; the step is halved whenever the residual
        grows tenfold or stalls for 12 steps (Euler oscillation), and
        :class:`ConvergenceError` is raised on failure unless ``raise_on_fail=False``.
    info : optional dict that receives ``halvings``, the number of step halvings.
    """
    _check(M, b, h0)
    xp = namespace(M, h0)
    step = dt / tau
    h = h0
    Mt = xp.matrix_transpose(M)
    best, since = float("inf"), 0
    err = float("inf")
    halvings = 0
    for n in range(max_steps + 1):
        F = xp.matmul(xp.maximum(h, 0.0), Mt) + b - h
        err = float(xp.max(xp.abs(F)))
        if err < tol:
            if info is not None:
                info["halvings"] = halvings
            return h, n
        if not err < 1e6:  # nan or blow-up
            break
        if err < best:
            best, since = err, 0
        else:
            since += 1
        if since >= 12 or err > 10.0 * best:  # stalled or oscillating: smaller step
            step, since, best = step * 0.5, 0, err
            halvings += 1
        h = h + step * F
    if info is not None:
        info["halvings"] = halvings
    if raise_on_fail:
        raise ConvergenceError(
            f"steady state not reached in {max_steps} steps (residual {err:.3g} Hz > tol "
            f"{tol} Hz); reduce dt, raise max_steps, or check that the network is stable "
            "(too little inhibition)"
        )
    return h, max_steps


def euler_reference(M: Any, b: Any, h0: Any, tau: Any, *, dt: float = 0.1, T: float = 3000.0
                    ) -> Any:
    """Plain forward Euler of Eq 1 with a small step ``dt`` (ms) for a time ``T`` (ms)."""
    _check(M, b, h0)
    xp = namespace(M, h0)
    step = dt / tau
    h = h0
    Mt = xp.matrix_transpose(M)
    for _ in range(int(round(T / dt))):
        h = h + step * (xp.matmul(xp.maximum(h, 0.0), Mt) + b - h)
    return h
