"""Local learning rules, Adam (as optax) and the back-propagation baseline.

Rules of Rossbroich & Zenke (2023) as in the authors' trainers
(authors' ``src/models/dale/trainer.py``;
chapter ``book/disinhibition/02_derivation.ipynb``), evaluated at the
closed-loop steady state with ``r_0 = x``, ``r_l = phi_E(u^E_l)``::

    exact-inv :  delta_l = (u^I_l - r^E_l) phi_E'(u^E_l)              (u^I = phi_I^-1(r^I) exactly)
    lin-thresh:  delta_l = (Lin_l(phi_I(u^I_l)) - r^E_l) phi_E'(u^E_l)  (Taylor inverse at y0_l)
    readout   :  delta_out = W_out^T r_L - u_out                        (= -c at steady state)
    "grad" W_l = mean_batch r_{l-1} (x) delta_l,  "grad" b_l = mean_batch delta_l

The "gradient" goes to Adam, which descends on it, so the weight change is
``Delta W_l ∝ r_{l-1} (x) phi_E'(u^E_l) (r^E_l - phi_I^-1(r^I_l))``: presynaptic
rate x postsynaptic gain x (E rate - inverse-transformed I rate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..backend import namespace
from ..errors import ConfigurationError
from .network import MicrocircuitConfig, Params, State, log_softmax, softmax

__all__ = [
    "RULES",
    "Adam",
    "bp_forward",
    "bp_loss_and_grads",
    "cosine",
    "hidden_errors",
    "lin_thresh_point",
    "local_gradients",
    "open_loop_gradient",
]

#: Names of the dis-inhibitory learning rules.
RULES = ("exact-inv", "lin-thresh")


def check_rule(rule: str) -> str:
    if rule not in RULES:
        raise ConfigurationError(f"unknown learning rule {rule!r}; choose one of {RULES}")
    return rule


def lin_thresh_point(cfg: MicrocircuitConfig, state_ol: State) -> list:
    """Linearisation points ``y0_l``: batch-mean open-loop inhibitory rate per neuron
    (``avg_inh`` with lambda = 1 in the authors' ``src/models/dale/trainer.py``)."""
    xp = namespace(state_ol.u_out)
    return [xp.mean(cfg.act_I(u), axis=-2, keepdims=True) for u in state_ol.uI]


def hidden_errors(rule: str, cfg: MicrocircuitConfig, state: State, y0=None) -> list:
    """Per-sample hidden-layer errors ``delta_l`` (list of ``(B, n_l)``) of ``rule``."""
    check_rule(rule)
    out = []
    for l, (uE, uI) in enumerate(zip(state.uE, state.uI)):
        rE = cfg.act_E(uE)
        if rule == "exact-inv":
            thr = uI
        else:
            if y0 is None:
                raise ConfigurationError(
                    "lin-thresh needs linearisation points y0 (see lin_thresh_point)"
                )
            thr = cfg.act_I.inv_lin(cfg.act_I(uI), y0[l])
        out.append((thr - rE) * cfg.act_E.deriv_from_rate(rE))
    return out


def local_gradients(
    rule: str, params: Params, cfg: MicrocircuitConfig, x, state_cl: State, y0=None
) -> list:
    """Batch-mean local "gradients" in the order of :meth:`Params.arrays`
    (authors' ``src/models/dale/trainer.py``)."""
    xp = namespace(x)
    B = x.shape[-2]
    deltas = hidden_errors(rule, cfg, state_cl, y0)
    grads = []
    r = x
    for l, d in enumerate(deltas):
        grads += [xp.matmul(r.mT, d) / B, xp.reshape(xp.mean(d, axis=-2), params.b[l].shape)]
        r = cfg.act_E(state_cl.uE[l])
    d_out = xp.matmul(r, params.W_out) - state_cl.u_out
    grads.append(xp.matmul(r.mT, d_out) / B)
    return grads


@dataclass
class Adam:
    """Adam exactly as ``optax.adam``: bias-corrected moments, ``eps`` added to ``sqrt(v_hat)``.

    ``step(arrays, grads)`` returns the updated arrays ``p - lr m_hat / (sqrt(v_hat) + eps)``.
    """

    lr: float = 1e-3
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    count: int = 0
    m: list = field(default_factory=list)
    v: list = field(default_factory=list)

    def step(self, arrays: list, grads: list) -> list:
        if not self.m:
            self.m = [g * 0.0 for g in grads]
            self.v = [g * 0.0 for g in grads]
        self.count += 1
        c1 = 1.0 - self.b1**self.count
        c2 = 1.0 - self.b2**self.count
        out = []
        for i, (p, g) in enumerate(zip(arrays, grads)):
            xp = namespace(g)
            self.m[i] = self.b1 * self.m[i] + (1.0 - self.b1) * g
            self.v[i] = self.b2 * self.v[i] + (1.0 - self.b2) * g * g
            out.append(p - self.lr * (self.m[i] / c1) / (xp.sqrt(self.v[i] / c2) + self.eps))
        return out


def bp_forward(params: Params, cfg: MicrocircuitConfig, x):
    """Plain MLP forward pass (the BP baseline: the authors' MLP,
    ``main.py`` with ``conf/``): ``h_l = phi_E(W_l^T h_{l-1} + b_l)``,
    logits ``W_out^T h_L``. Returns ``(logits, pre-activations, activations)``."""
    xp = namespace(x)
    h, pre, acts = x, [], [x]
    for W, b in zip(params.W, params.b):
        a = xp.matmul(h, W) + b
        h = cfg.act_E(a)
        pre.append(a)
        acts.append(h)
    return xp.matmul(h, params.W_out), pre, acts


def bp_loss_and_grads(params: Params, cfg: MicrocircuitConfig, x, y_star):
    """Batch-mean loss (soft-target CE or MSE) of the MLP and its exact gradient by back-prop.

    With a stack of networks the loss has one value per network ``(S,)``."""
    xp = namespace(x)
    B = x.shape[-2]
    logits, pre, acts = bp_forward(params, cfg, x)
    if cfg.loss == "ce":
        loss = -xp.mean(xp.sum(y_star * log_softmax(logits), axis=-1), axis=-1)
        g = (softmax(logits) * xp.sum(y_star, axis=-1, keepdims=True) - y_star) / B
    else:
        loss = xp.mean(xp.sum((logits - y_star) ** 2, axis=-1), axis=-1)
        g = 2.0 * (logits - y_star) / B
    grads = [xp.matmul(acts[-1].mT, g)]
    g = xp.matmul(g, params.W_out.mT)
    for l in range(params.n_hidden_layers - 1, -1, -1):
        g = g * cfg.act_E.deriv(pre[l])
        gb = xp.reshape(xp.sum(g, axis=-2), params.b[l].shape)
        grads = [xp.matmul(acts[l].mT, g), gb] + grads
        if l > 0:
            g = xp.matmul(g, params.W[l].mT)
    return loss, grads


def cosine(a: list, b: list) -> float:
    """Cosine of the angle between two lists of arrays seen as one flat vector."""
    xp = namespace(a[0])
    dot = sum(float(xp.sum(x * y)) for x, y in zip(a, b))
    na = math.sqrt(sum(float(xp.sum(x * x)) for x in a))
    nb = math.sqrt(sum(float(xp.sum(y * y)) for y in b))
    return dot / (na * nb)


def open_loop_gradient(params: Params, cfg: MicrocircuitConfig, x, y_star, state_ol: State):
    """Exact gradient of the open-loop loss (CE or MSE, batch mean) through the steady state.

    Implicit differentiation of ``u^E_l + phi_I(phi_E(u^E_l)) = a_l``:
    ``du^E_l / da_l = 1 / (1 + phi_I'(r^E_l) phi_E'(u^E_l))`` elementwise, then ordinary
    back-propagation through ``a_{l+1} = W_{l+1}^T phi_E(u^E_l) + b_{l+1}``. This is what the
    authors obtain by autodiff through the ODE solve
    (authors' ``src/models/dale/trainer.py``). Chapter ``02_derivation``.
    """
    xp = namespace(x)
    B = x.shape[-2]
    u_out = state_ol.u_out
    if cfg.loss == "ce":
        g = (softmax(u_out) * xp.sum(y_star, axis=-1, keepdims=True) - y_star) / B
    else:
        g = 2.0 * (u_out - y_star) / B
    rates = [x] + [cfg.act_E(u) for u in state_ol.uE]
    grads = [xp.matmul(rates[-1].mT, g)]
    g = xp.matmul(g, params.W_out.mT)
    for l in range(params.n_hidden_layers - 1, -1, -1):
        rE = rates[l + 1]
        dE = cfg.act_E.deriv_from_rate(rE)
        g = g * dE / (1.0 + cfg.act_I.deriv(rE) * dE)
        gb = xp.reshape(xp.sum(g, axis=-2), params.b[l].shape)
        grads = [xp.matmul(rates[l].mT, g), gb] + grads
        if l > 0:
            g = xp.matmul(g, params.W[l].mT)
    return grads
