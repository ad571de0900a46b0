"""Plasticity of PV input (Pyr -> PV, ``W_IE``) and output (PV -> Pyr, ``W_EI``) synapses.

Mackwood et al. (2021), Appendix 1; chapters ``01_model`` and ``02_derivation``.

* :func:`local_updates`: the local rules, Eq 8 (Eq 4 with the softplus reparameterisation),
* :func:`gradient_updates`: the gradient rules, Eq 15, through the adjoint of the steady
  state (exactly Eq 15 with ``e^T W^{-1}``; :func:`adjoint_direct` solves it densely,
  :func:`adjoint_iterative` by the adjoint dynamics from a warm start),
* :func:`apply_local` (plain steps, weight decay, PV input normalisation) and
  :class:`Adam` (gradient rules, Fig 1-S2),
* :func:`update_angle`, Eq 7.

All functions take one stimulus per network: ``h`` has shape ``(B, N)`` with ``N = NE + NI``.
Updates are *ascent directions* on ``V`` (``-dL/dV``), so ``V += eta * update``.
Learning rates are per-network vectors ``(B,)``; a zero switches a matrix off (knock-out).
"""

from __future__ import annotations

from typing import Any

from ..backend import host, namespace, to_numpy
from ..errors import ConfigurationError, ConvergenceError
from ..measures import update_angle
from .network import Network, softplus

__all__ = [
    "Adam",
    "adjoint_direct",
    "adjoint_iterative",
    "apply_local",
    "gradient_updates",
    "local_updates",
    "sigmoid",
    "softplus_prime",
    "update_angle",
]


def sigmoid(x: Any) -> Any:
    """Logistic function, the surrogate ``r'(h)`` (softplus derivative with alpha = 1)."""
    xp = namespace(x)
    return 0.5 * (1.0 + xp.tanh(0.5 * x))


def softplus_prime(v: Any, alpha: Any) -> Any:
    """``dW/dV = s'(V) = sigmoid(alpha V)``."""
    return sigmoid(alpha * v)


def _split(net: Network, h: Any, rho0: float):
    xp = namespace(h)
    hE, hI = h[:, : net.NE], h[:, net.NE :]
    return xp, hE, hI, hE - rho0, xp.maximum(hE, 0.0), xp.maximum(hI, 0.0)


def local_updates(net: Network, h: Any, rho0: float = 1.0) -> tuple[Any, Any]:
    """Local rules (Eq 8 without decay): ``A_EI (B,NE,NI)``, ``A_IE (B,NI,NE)``.

    ``A_EI_ji = (h_E_j - rho0) r_I_i s'(V_EI_ji)`` (Eq 8a) and
    ``A_IE_ij = [sum_k W_IE_ik (h_E_k - rho0)] sigmoid(h_I_i) r_E_j s'(V_IE_ij)`` (Eq 8b).
    """
    xp, hE, hI, e, rE, rI = _split(net, h, rho0)
    A_EI = e[:, :, None] * rI[:, None, :] * softplus_prime(net.V_EI, net.alpha_EI)
    u = xp.matmul(net.W_IE, e[:, :, None])[:, :, 0] * sigmoid(hI)
    A_IE = u[:, :, None] * rE[:, None, :] * softplus_prime(net.V_IE, net.alpha_IE)
    return A_EI, A_IE


def _derivative(h: Any, surrogate: bool) -> Any:
    xp = namespace(h)
    return sigmoid(h) if surrogate else xp.astype(h > 0, h.dtype)


def adjoint_direct(M: Any, h: Any, e_full: Any, surrogate: bool = True) -> Any:
    """Solve ``(I - D M^T) lam = e_full`` densely (``D = diag r'(h)``); ``lam (B, N)``.

    ``lam_E^T = e^T W^{-1}`` with the effective interaction matrix ``W`` of Eq 12, and
    ``-lam_I = M_I^{-T} D_I W_EI^T lam_E`` (the Pyr -> PV factor of Eq 15a).
    """
    xp = namespace(M, h)
    N = M.shape[-1]
    D = _derivative(h, surrogate)
    A = xp.eye(N, dtype=M.dtype) - D[:, :, None] * xp.matrix_transpose(M)
    return xp.linalg.solve(A, e_full[:, :, None])[:, :, 0]


def adjoint_iterative(
    M: Any, h: Any, e_full: Any, tau: Any, lam0: Any = None, *, surrogate: bool = True,
    dt: float = 20.0, rtol: float = 1e-3, max_steps: int = 300,
) -> tuple[Any, int]:
    """:func:`adjoint_direct` by the adjoint dynamics ``tau dlam/dt = -lam + D M^T lam + e``.

    Its Jacobian is the transpose of the forward one, so the step that integrates Eq 1
    also integrates this; a warm start ``lam0`` (e.g. the previous trial's solution for the
    same stimulus) makes it a few matrix-vector products. Each network has its own step and
    stops when its residual is below ``rtol * max|e|`` (its own ``e``); returns
    ``(lam, steps)``.
    """
    xp = namespace(M, h)
    D = _derivative(h, surrogate)
    B = M.shape[0]
    base = dt / tau
    lam = e_full if lam0 is None else lam0
    # per network: own tolerance, step and convergence test (a batch equals separate runs)
    tol = rtol * to_numpy(xp.max(xp.abs(e_full), axis=1)).astype(host.float64) + 1e-12
    factor = host.ones(B)
    best = host.full(B, host.inf)
    since = host.zeros(B, dtype=host.int64)
    active = host.ones(B, dtype=bool)
    err = host.full(B, host.inf)
    for n in range(max_steps + 1):
        F = e_full + D * xp.matmul(lam[:, None, :], M)[:, 0, :] - lam
        err = to_numpy(xp.max(xp.abs(F), axis=1)).astype(host.float64)
        if (active & ~(err < 1e8 * tol)).any():  # NaN, inf or blow-up
            break
        active &= ~(err < tol)
        if not active.any():
            return lam, n
        if n == max_steps:
            break
        better = active & (err < best)
        since = host.where(better, 0, since + active)
        best = host.where(better, err, best)
        halve = active & ((since >= 12) | (err > 10.0 * best))
        factor = host.where(halve, factor * 0.5, factor)
        since = host.where(halve, 0, since)
        best = host.where(halve, err, best)
        f = xp.reshape(xp.asarray(host.where(active, factor, 0.0), dtype=lam.dtype), (B, 1))
        lam = lam + (f * base) * F
    raise ConvergenceError(
        f"adjoint (gradient) solve did not converge in network(s) "
        f"{host.flatnonzero(active).tolist()} of {B} (residual {float(err[active].max()):.3g}); "
        "the surrogate Jacobian may be unstable: use adjoint_direct, or a smaller dt"
    )


def gradient_updates(
    net: Network, h: Any, rho0: float = 1.0, *, M: Any = None, surrogate: bool = True,
    method: str = "direct", lam0: Any = None, dt: float = 20.0, rtol: float = 1e-3,
) -> tuple[Any, Any, Any]:
    """Gradient rules (Eq 15): ``G_EI (B,NE,NI)``, ``G_IE (B,NI,NE)`` and the adjoint ``lam``.

    ``G = -dL/dV`` for the single-stimulus loss ``L = 1/2 sum_j (h_E_j - rho0)^2`` (Eq 3)
    at the steady state ``h``. ``surrogate=False`` uses the exact derivative of the
    rectifier (Heaviside), so ``G`` is then the exact gradient (finite-difference test);
    ``surrogate=True`` replaces it with ``sigmoid(h)`` as in the paper. ``method="iterative"``
    uses :func:`adjoint_iterative` (warm start ``lam0``) and falls back to the dense solve.
    """
    xp, hE, hI, e, rE, rI = _split(net, h, rho0)
    M = net.full_matrix() if M is None else M
    e_full = xp.concat([e, xp.zeros_like(hI)], axis=1)
    if method == "direct":
        lam = adjoint_direct(M, h, e_full, surrogate)
    elif method == "iterative":
        try:
            lam, _ = adjoint_iterative(M, h, e_full, net.tau(), lam0, surrogate=surrogate,
                                       dt=dt, rtol=rtol)
        except ConvergenceError:  # unstable surrogate dynamics: fall back to a dense solve
            lam = adjoint_direct(M, h, e_full, surrogate)
    else:
        raise ConfigurationError(f"unknown adjoint method {method!r}; use 'direct' or 'iterative'")
    lamE, lamI = lam[:, : net.NE], lam[:, net.NE :]
    G_EI = lamE[:, :, None] * rI[:, None, :] * softplus_prime(net.V_EI, net.alpha_EI)
    G_IE = -lamI[:, :, None] * rE[:, None, :] * softplus_prime(net.V_IE, net.alpha_IE)
    return G_EI, G_IE, lam


def _col(eta: Any, like: Any) -> Any:
    xp = namespace(like)
    return xp.reshape(xp.asarray(eta, dtype=like.dtype), (-1, 1, 1))


def refresh_weights(net: Network, normalise_IE: Any) -> None:
    """Recompute ``W = z * s(V)``; optionally rescale each PV's inputs to sum to ``J_IE``
    (``normalise_IE``: one bool for all networks, or one per network)."""
    xp = net.xp
    net.W_EI = net.z_EI * softplus(net.V_EI, net.alpha_EI)
    W_IE = net.z_IE * softplus(net.V_IE, net.alpha_IE)
    if isinstance(normalise_IE, bool):
        if normalise_IE:
            tot = xp.sum(W_IE, axis=2, keepdims=True)
            W_IE = W_IE * (net.J_IE / xp.where(tot > 0, tot, 1.0))
    elif any(normalise_IE):
        tot = xp.sum(W_IE, axis=2, keepdims=True)
        normed = W_IE * (net.J_IE / xp.where(tot > 0, tot, 1.0))
        m = xp.reshape(xp.asarray([bool(x) for x in normalise_IE]), (-1, 1, 1))
        W_IE = xp.where(m, normed, W_IE)
    net.W_IE = W_IE


def apply_local(
    net: Network, A_EI: Any, A_IE: Any, eta_E: Any, eta_I: Any, decay: float = 0.1,
    normalise_IE: Any = True,
) -> None:
    """In place: ``V += eta (A - decay W)`` (Eq 8), then refresh ``W`` (Pyr -> PV rows to ``J_IE``).

    ``eta_E (B,)`` is the Pyr -> PV (input) rate, ``eta_I (B,)`` the PV -> Pyr (output) rate.
    """
    net.V_IE = net.V_IE + _col(eta_E, net.V_IE) * (A_IE - decay * net.W_IE)
    net.V_EI = net.V_EI + _col(eta_I, net.V_EI) * (A_EI - decay * net.W_EI)
    refresh_weights(net, normalise_IE)


class Adam:
    """Adam (Kingma & Ba 2014) ascent on ``V_EI`` and ``V_IE`` with per-network rates.

    ``bias_correction=True`` is the textbook optimiser the paper cites; the authors' code
    divides by ``1 - beta`` instead (``bias_correction=False``).
    """

    def __init__(self, net: Network, eta_E: Any, eta_I: Any, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-9, bias_correction: bool = True):
        xp = net.xp
        self.eta_E, self.eta_I = _col(eta_E, net.V_IE), _col(eta_I, net.V_EI)
        self.b1, self.b2, self.eps, self.bias = beta1, beta2, eps, bias_correction
        self.m = [xp.zeros_like(net.V_EI), xp.zeros_like(net.V_IE)]
        self.v = [xp.zeros_like(net.V_EI), xp.zeros_like(net.V_IE)]
        self.t = 0

    def step(self, net: Network, G_EI: Any, G_IE: Any, decay: float = 0.1,
             mask: Any = None) -> None:
        """In place: one Adam step on ``g = G - decay W`` for both matrices, then refresh W.

        ``mask`` (one bool per network): networks marked False keep their weights and
        moments (the authors' code skips the update of a solve that did not converge)."""
        xp = net.xp
        if mask is not None and not all(mask):
            keep = xp.reshape(xp.asarray([not bool(x) for x in mask]), (-1, 1, 1))
            old = (net.V_EI, net.V_IE, list(self.m), list(self.v))
            self.step(net, G_EI, G_IE, decay)
            net.V_EI = xp.where(keep, old[0], net.V_EI)
            net.V_IE = xp.where(keep, old[1], net.V_IE)
            self.m = [xp.where(keep, o, n) for o, n in zip(old[2], self.m, strict=True)]
            self.v = [xp.where(keep, o, n) for o, n in zip(old[3], self.v, strict=True)]
            refresh_weights(net, normalise_IE=False)
            return
        self.t += 1
        if self.bias:
            c1, c2 = 1.0 - self.b1**self.t, 1.0 - self.b2**self.t
        else:
            c1, c2 = 1.0 - self.b1, 1.0 - self.b2
        out = []
        for k, (g, V, eta) in enumerate(
            [(G_EI - decay * net.W_EI, net.V_EI, self.eta_I),
             (G_IE - decay * net.W_IE, net.V_IE, self.eta_E)]
        ):
            self.m[k] = self.b1 * self.m[k] + (1.0 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1.0 - self.b2) * g * g
            out.append(V + eta * (self.m[k] / c1) / (xp.sqrt(self.v[k] / c2) + self.eps))
        net.V_EI, net.V_IE = out
        refresh_weights(net, normalise_IE=False)
