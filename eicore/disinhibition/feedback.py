"""Feedback weights ``Q_l`` from the open-loop Jacobian (authors' ``src/models/dale/trainer.py``).

Computed per sample at the open-loop steady state and held fixed during the
closed-loop solve (chapter ``book/disinhibition/02_derivation.ipynb``)::

    D_l = phi_E'(u^E_l),  G_l = phi_I'(u^I_l)
    J_L = W_out^T diag(D_L),   J_l = J_{l+1} W_{l+1}^T diag(D_l)      (n_out x n_l)
    Q_l = J_l diag(G_l) / ||J_l diag(G_l)||_F * norm

``J_l`` is the Jacobian ``d u_out / d u^E_l`` of the feed-forward map
``u_{l+1} = W_{l+1}^T phi_E(u_l) + b_{l+1}``. With ``average=True`` the product
``J_l G_l`` is averaged over the batch before normalising (the "average Jacobian").
"""

from __future__ import annotations

from ..backend import namespace
from .network import MicrocircuitConfig, Params, State

__all__ = ["feedforward_jacobians", "feedback_weights"]


def normaliser(J, norm):
    """``norm / ||J||_F`` over the last two axes, and 0 where ``J`` is exactly zero (every
    unit saturated or silent): such a ``J`` has no direction, and the feedback is then zero
    instead of NaN."""
    xp = namespace(J)
    fro = xp.sqrt(xp.sum(J * J, axis=(-2, -1), keepdims=True))
    pos = fro > 0.0
    return xp.where(pos, norm / xp.where(pos, fro, xp.ones_like(fro)), xp.zeros_like(fro))


def feedforward_jacobians(params: Params, cfg: MicrocircuitConfig, state: State) -> list:
    """Per-sample ``J_l = d u_out / d u^E_l`` of the feed-forward map, list of ``(B, n_out, n_l)``.

    The chain is evaluated as ``(B n_out, n_{l+1}) @ (n_{l+1}, n_l)`` matrix products.
    """
    xp = namespace(params.W_out)
    L = params.n_hidden_layers
    D = [cfg.act_E.deriv(u) for u in state.uE]
    lead, B = tuple(D[0].shape[:-2]), D[0].shape[-2]
    n_out = params.sizes[-1]
    J = [None] * L
    J[L - 1] = params.W_out.mT[..., None, :, :] * D[L - 1][..., None, :]
    for l in range(L - 2, -1, -1):
        n_next, n_l = J[l + 1].shape[-1], D[l].shape[-1]
        flat = xp.reshape(J[l + 1], (*lead, B * n_out, n_next))
        prod = xp.matmul(flat, params.W[l + 1].mT)
        J[l] = xp.reshape(prod, (*lead, B, n_out, n_l)) * D[l][..., None, :]
    return J


def feedback_weights(
    params: Params,
    cfg: MicrocircuitConfig,
    state_ol: State,
    *,
    average: bool = False,
    norm: float = 1.0,
) -> list:
    """Feedback weights ``Q_l`` (list of ``(B, n_out, n_l)``) from the open-loop state.

    Parameters
    ----------
    average
        Average ``J_l G_l`` over the batch first (authors' ``average_fb_weights``).
    norm
        Frobenius norm of each ``Q_l`` per sample (authors' ``norm_val`` = 1).
    """
    xp = namespace(params.W_out)
    J = feedforward_jacobians(params, cfg, state_ol)
    Q = []
    for Jl, uI in zip(J, state_ol.uI):
        q = Jl * cfg.act_I.deriv(uI)[..., None, :]
        if average:
            q = xp.broadcast_to(xp.mean(q, axis=-3, keepdims=True), q.shape)
        Q.append(q * normaliser(q, norm))
    return Q
