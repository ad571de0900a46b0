"""Measures of the learned codes (Mikulasch et al. 2021): losses and receptive-field statistics.

All functions take batched arrays with a leading network axis and return host NumPy
arrays, since they feed tables, plots and the chapters' checks.
"""

from __future__ import annotations

from ..backend import host, namespace, to_numpy

__all__ = [
    "bar_templates",
    "bars_learned",
    "decoder_loss",
    "dendritic_potentials",
    "mean_pairwise_cosine",
    "somatic_potential",
    "trace_overlap",
]


def decoder_loss(x, y, D):
    """Instantaneous decoder loss (Eq 1): ``|x - D y|^2 / (2 n_x)``.

    ``x`` (..., B, n_x), ``y`` (..., B, n_z), ``D`` (B, n_x, n_z); returns (..., B).
    """
    xp = namespace(x, y, D)
    xhat = xp.sum(D * y[..., None, :], axis=-1)
    return xp.sum((x - xhat) ** 2, axis=-1) / (2.0 * x.shape[-1])


def dendritic_potentials(F, Wd, x, y):
    """Dendritic potentials ``u_ij = F_ji x_i + sum_k Wd[j,i,k] y_k`` (B, n_z, n_x), Eq 7."""
    xp = namespace(F, Wd, x, y)
    return F * x[:, None, :] + xp.sum(Wd * y[:, None, None, :], axis=3)


def somatic_potential(F, W, x, y):
    """Balanced somatic potential without bias, ``F_j . x + sum_k W_jk y_k`` (B, n_z)."""
    xp = namespace(F, W, x, y)
    return xp.sum(F * x[:, None, :], axis=2) + xp.sum(W * y[:, None, :], axis=2)


def bar_templates(side: int = 8):
    """The 2*side bars as (2 side, side^2) host images: rows 0..side-1, then columns."""
    t = host.zeros((2 * side, side, side), dtype=host.float32)
    for k in range(side):
        t[k, k, :] = 1.0
        t[side + k, :, k] = 1.0
    return t.reshape(2 * side, -1)


def _unit(a, axis=-1):
    n = host.linalg.norm(a, axis=axis, keepdims=True)
    return a / host.maximum(n, 1e-12)


def bars_learned(F, side: int = 8, threshold: float = 0.9):
    """How well the receptive fields ``F`` (B, n_z, side^2) match single bars.

    Returns a dict of (B,) host arrays:

    ``unique``
        number of bars that are the best match (cosine) of exactly one neuron;
    ``single``
        number of neurons whose cosine with their best bar exceeds ``threshold``;
    ``all_single``
        True where every bar is the best match of exactly one neuron and every
        neuron's field is a single bar (cosine > threshold).
    """
    Fn = _unit(to_numpy(F).astype(host.float64))
    Tn = _unit(bar_templates(side).astype(host.float64))
    C = Fn @ Tn.T  # (B, n_z, n_bars)
    best_neuron = C.argmax(axis=1)  # per bar
    n_bars = Tn.shape[0]
    unique = host.array([
        sum(int((best_neuron[b] == best_neuron[b, k]).sum() == 1) for k in range(n_bars))
        for b in range(C.shape[0])
    ])  # fmt: skip
    single = (C.max(axis=2) > threshold).sum(axis=1)
    return {
        "unique": unique,
        "single": single,
        "all_single": (unique == n_bars) & (single == C.shape[1]),
        "max_cos": C.max(axis=2).mean(axis=1),
    }


def mean_pairwise_cosine(F):
    """Mean cosine similarity between the fields of different neurons, per network (B,)."""
    Fn = _unit(to_numpy(F).astype(host.float64))
    off = ~host.eye(Fn.shape[1], dtype=bool)
    # one product per network: the same numbers whatever the batch
    return host.array([(f @ f.T)[off].mean() for f in Fn])


def trace_overlap(lags_ms, tau: float = 10.0, dt: float = 0.1, horizon_ms: float = 200.0):
    """``sum_t y_a(t) y_b(t) dt`` for two PSP traces started by spikes ``lag`` ms apart.

    The pair term of both input rules (Fig 2 E/H): a presynaptic trace that starts
    ``lag`` ms after the postsynaptic spike (negative: before). Discrete traces with the
    simulator's decay ``exp(-dt/tau)``; tends to ``(tau/2) exp(-|lag|/tau)`` as dt -> 0.
    Returns a host array of the same length as ``lags_ms``.
    """
    lags = host.asarray(lags_ms, dtype=host.float64)
    t = host.arange(-horizon_ms, horizon_ms, dt)
    lam = host.exp(-dt / tau)
    post = host.where(t >= 0, lam ** host.maximum(t / dt, 0), 0.0)
    out = []
    for lag in lags:
        pre = host.where(t >= lag, lam ** host.maximum((t - lag) / dt, 0), 0.0)
        out.append(float((post * pre).sum() * dt))
    return host.asarray(out)
