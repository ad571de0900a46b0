"""Stimuli, afferents and initial connectivity of the E/I assemblies network.

Mackwood, Naumann & Sprekeler (2021), Materials and methods, Eqs 1-2 and Table 1;
chapter ``book/assemblies/01_model.ipynb``. Networks are built on the host from a
seeded generator and moved to the array backend; a :class:`Network` holds a leading
batch axis ``B`` of independent networks (conditions, seeds, variants).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from ..backend import HostRNG, get_xp, host, namespace
from ..errors import ConfigurationError, ShapeError

__all__ = [
    "Network",
    "afferent_input",
    "build_network",
    "preferred_stimuli",
    "softplus",
    "softplus_inverse",
    "stack_networks",
    "stimulus_grid",
]


def check_positive(**sizes: Any) -> None:
    """Raise a one-line :class:`~eicore.errors.ConfigurationError` unless every size is a
    positive integer."""
    for name, v in sizes.items():
        ok = isinstance(v, int | host.integer) and not isinstance(v, bool) and v >= 1
        if not ok:
            raise ConfigurationError(f"{name} must be a positive integer, got {v!r}")


def stimulus_grid(n_per_axis: int = 12) -> Any:
    """The periodic 3-D stimulus grid, host float64 ``(n^3, 3)`` in ``[-pi, pi)``.

    Stimulus ``s = (i * n + j) * n + k`` has coordinates ``(loc[i], loc[j], loc[k])``.
    """
    check_positive(n_per_axis=n_per_axis)
    loc = host.linspace(-math.pi, math.pi, n_per_axis, endpoint=False)
    g = host.meshgrid(loc, loc, loc, indexing="ij")
    return host.stack([a.ravel() for a in g], axis=1)


def preferred_stimuli(n_per_axis: int = 8) -> Any:
    """Preferred stimuli of the Pyr cells: an even ``n^3`` grid (the authors' code: 8^3 = 512)."""
    check_positive(n_per_axis=n_per_axis)
    return stimulus_grid(n_per_axis)


def afferent_input(
    stimuli: Any, prefs: Any, kappa: float = 1.0, max_rate: float = 50.0, background: float = 5.0
) -> Any:
    """Afferent drive ``I(s) + I_bg`` to every Pyr cell, host float64 ``(S, N_E)``.

    Product of three von Mises tunings (one per stimulus axis), each rescaled to
    [0, 1] as in the authors' code, times ``max_rate``, plus the background.
    """
    lo = math.exp(-2.0 * kappa)
    out = host.ones((stimuli.shape[0], prefs.shape[0]))
    for q in range(3):
        d = stimuli[:, q][:, None] - prefs[:, q][None, :]
        out *= (host.exp(kappa * (host.cos(d) - 1.0)) - lo) / (1.0 - lo)
    return max_rate * out + background


def softplus(v: Any, alpha: Any) -> Any:
    """``s(v) = ln(1 + exp(alpha v)) / alpha`` (numerically stable), Appendix 1."""
    xp = namespace(v)
    x = alpha * v
    return (xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))) / alpha


def softplus_inverse(w: Any, alpha: Any) -> Any:
    """Inverse of :func:`softplus`: ``v = ln(exp(alpha w) - 1) / alpha`` for ``w > 0``."""
    xp = namespace(w)
    x = alpha * w
    # ln(expm1(x)) = x + ln(1 - exp(-x)), stable for large x
    return (x + xp.log(-xp.expm1(-x))) / alpha


@dataclass
class Network:
    """A batch of ``B`` E/I networks (arrays on one backend, float32 by default).

    Shapes: ``W_EE (B,NE,NE)``, ``W_II (B,NI,NI)`` static; plastic parameters
    ``V_EI (B,NE,NI)`` (PV -> Pyr) and ``V_IE (B,NI,NE)`` (Pyr -> PV) with fixed 0/1
    masks ``z_EI``, ``z_IE`` and softplus sharpness ``alpha_EI``, ``alpha_IE`` ``(B,1,1)``;
    weights ``W_EI``, ``W_IE`` are kept in sync with ``V`` by the plasticity code.
    ``I_E (S,NE)`` is the afferent drive to Pyr cells for each stimulus (background
    included); ``I_I`` the constant drive to PV cells.
    """

    W_EE: Any
    W_II: Any
    W_EI: Any
    W_IE: Any
    V_EI: Any
    V_IE: Any
    z_EI: Any
    z_IE: Any
    alpha_EI: Any
    alpha_IE: Any
    I_E: Any
    I_I: float = 5.0
    J_IE: float = 5.0
    tau_E: float = 50.0
    tau_I: float = 25.0

    @property
    def B(self) -> int:
        return int(self.W_EE.shape[0])

    @property
    def NE(self) -> int:
        return int(self.W_EE.shape[1])

    @property
    def NI(self) -> int:
        return int(self.W_II.shape[1])

    @property
    def S(self) -> int:
        return int(self.I_E.shape[0])

    @property
    def xp(self) -> Any:
        return namespace(self.W_EE)

    def copy(self) -> Network:
        """A deep copy (arrays copied), so training one does not change the other."""
        xp = self.xp
        kw = {}
        for f in fields(self):
            v = getattr(self, f.name)
            kw[f.name] = xp.asarray(v, copy=True) if hasattr(v, "shape") else v
        return Network(**kw)

    def select(self, idx: int | list[int]) -> Network:
        """The sub-batch ``idx`` (an int keeps a batch axis of length 1)."""
        idx = [idx] if isinstance(idx, int) else list(idx)
        xp = self.xp
        kw = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if hasattr(v, "shape") and f.name != "I_E":
                v = xp.concat([v[i : i + 1, ...] for i in idx], axis=0)
            kw[f.name] = v
        return replace(self, **kw)

    def full_matrix(self) -> Any:
        """Signed connectivity ``M = [[W_EE, -W_EI], [W_IE, -W_II]]``, ``(B, N, N)``."""
        xp = self.xp
        top = xp.concat([self.W_EE, -self.W_EI], axis=2)
        bottom = xp.concat([self.W_IE, -self.W_II], axis=2)
        return xp.concat([top, bottom], axis=1)

    def drive(self, stim: Any = None) -> Any:
        """External drive ``(S', N)`` (Pyr: afferent + background; PV: background)."""
        xp = self.xp
        I_E = self.I_E if stim is None else xp.take(self.I_E, stim, axis=0)
        I_I = xp.full((I_E.shape[0], self.NI), self.I_I, dtype=I_E.dtype)
        return xp.concat([I_E, I_I], axis=1)

    def tau(self) -> Any:
        """Time constants per unit ``(N,)`` in ms."""
        xp = self.xp
        dt = self.W_EE.dtype
        return xp.concat([xp.full((self.NE,), self.tau_E, dtype=dt),
                          xp.full((self.NI,), self.tau_I, dtype=dt)])


def _fixed_indegree(g, n_post: int, n_pre: int, p: float) -> Any:
    """0/1 mask with exactly ``round(p * n_pre)`` random presynaptic partners per row."""
    k = int(round(p * n_pre))
    z = host.zeros((n_post, n_pre))
    for i in range(n_post):
        z[i, g.permutation(n_pre)[:k]] = 1.0
    return z


def _lognormal_rows(g, z: Any, total: float, sigma: float, exact: bool = True) -> Any:
    """Log-normal weights on mask ``z`` with mean ``total / k``; each row rescaled to sum
    exactly to ``total`` unless ``exact=False`` (the authors' code: only in expectation)."""
    k = z.sum(axis=1, keepdims=True)
    mean_w = total / k
    w = g.lognormal(0.0, sigma, size=z.shape) * host.exp(-(sigma**2) / 2) * mean_w * z
    return w * (total / w.sum(axis=1, keepdims=True)) if exact else w


def _authors_wee(stimuli: Any, prefs: Any, p: Any) -> Any:
    """W_EE as the authors' code builds it: correlations of afferents with ``kappa / 4``,
    ``corr - min(corr)`` on the top ``p_conn`` of ranks (diagonal included in the ranking),
    rows normalised to ``J_EE``."""
    c = host.corrcoef(afferent_input(stimuli, prefs, p.kappa / 4, p.max_rate, p.I_bg).T)
    host.fill_diagonal(c, 0.0)
    f = c.ravel().copy()
    order = host.argsort(f, kind="stable")
    f -= f.min()
    f[order[: int((1 - p.p_conn) * f.size)]] = 0.0
    w = f.reshape(c.shape)
    host.fill_diagonal(w, 0.0)
    return w * (p.J_EE / w.sum(axis=1, keepdims=True))


def build_network(
    p: Any, seed: int, *, xp: Any = None, dtype: Any = None, sigma_IE: float | None = None,
    authors: bool = False,
) -> Network:
    """One network (batch of 1) from parameters ``p`` (see :data:`presets.NETWORK`).

    Eq 2: ``W^EE_ij = [corr(I_i, I_j) - C]_+`` with ``C`` the quantile that leaves a
    connection probability ``p_conn``, rows normalised to ``J_EE``. The other
    matrices have a fixed in-degree ``round(p_conn N_pre)`` (authors' code) and
    log-normal weights (``sigma``), each row rescaled to its total ``J`` (Table 1).
    ``sigma_IE`` overrides the Pyr -> PV log-normal width (heavy-tailed variant, Fig 3-S2).
    ``authors=True`` builds the network as the authors' code does (``mode="authors"`` of
    :func:`.experiment.train`): ``W_EE`` from afferent correlations with ``kappa / 4``, ``corr -
    min(corr)`` on the top ``p_conn`` of ranks, and log-normal rows that sum
    to their ``J`` only in expectation.
    """
    check_positive(n_stim=p.n_stim, n_pref=p.n_pref, NI=p.NI)
    xp = xp or get_xp()
    dtype = dtype or xp.float32
    g = HostRNG(seed).generator
    stimuli = stimulus_grid(p.n_stim)
    prefs = preferred_stimuli(p.n_pref)
    I_E = afferent_input(stimuli, prefs, p.kappa, p.max_rate, p.I_bg)
    NE, NI = prefs.shape[0], p.NI
    # W_EE from signal correlations of the afferents (Eq 2)
    c = host.corrcoef(I_E.T)
    host.fill_diagonal(c, host.nan)
    off = c[~host.isnan(c)]
    C = host.quantile(off, 1.0 - p.p_conn)
    w = host.where(c > C, c - C, 0.0)
    host.fill_diagonal(w, 0.0)
    W_EE = w * (p.J_EE / w.sum(axis=1, keepdims=True))
    if authors:
        W_EE = _authors_wee(stimuli, prefs, p)
    z_EI = _fixed_indegree(g, NE, NI, p.p_conn)
    z_II = _fixed_indegree(g, NI, NI, p.p_conn)
    z_IE = _fixed_indegree(g, NI, NE, p.p_conn)
    ex = not authors
    W_EI = _lognormal_rows(g, z_EI, p.J_EI, p.sigma, ex)
    W_II = _lognormal_rows(g, z_II, p.J_II, p.sigma, ex)
    W_IE = _lognormal_rows(g, z_IE, p.J_IE, p.sigma if sigma_IE is None else sigma_IE, ex)
    a_EI = p.alpha_scale / (p.J_EI / z_EI.sum(axis=1).mean())
    a_IE = p.alpha_scale / (p.J_IE / z_IE.sum(axis=1).mean())
    # V on existing synapses inverts the softplus; V = 0 elsewhere (masked anyway)
    V_EI = host.where(z_EI > 0, host.log(host.expm1(a_EI * host.maximum(W_EI, 1e-30))) / a_EI, 0.0)
    V_IE = host.where(z_IE > 0, host.log(host.expm1(a_IE * host.maximum(W_IE, 1e-30))) / a_IE, 0.0)
    V_EI = host.maximum(V_EI, -1e4)
    V_IE = host.maximum(V_IE, -1e4)

    def a(x):
        return xp.asarray(host.asarray(x)[None, ...], dtype=dtype)

    net = Network(
        W_EE=a(W_EE), W_II=a(W_II), W_EI=a(W_EI), W_IE=a(W_IE), V_EI=a(V_EI), V_IE=a(V_IE),
        z_EI=a(z_EI), z_IE=a(z_IE),
        alpha_EI=a(host.full((1, 1), a_EI)), alpha_IE=a(host.full((1, 1), a_IE)),
        I_E=xp.asarray(I_E, dtype=dtype), I_I=float(p.I_bg), J_IE=float(p.J_IE),
        tau_E=float(p.tau_E), tau_I=float(p.tau_I),
    )
    # weights exactly as the softplus of V (float32 round trip), as the plasticity keeps them
    net.W_EI = net.z_EI * softplus(net.V_EI, net.alpha_EI)
    net.W_IE = net.z_IE * softplus(net.V_IE, net.alpha_IE)
    return net


def stack_networks(nets: list[Network]) -> Network:
    """Concatenate networks along the batch axis (same sizes and stimuli required)."""
    if not nets:
        raise ConfigurationError("stack_networks needs at least one network")
    ref = nets[0]
    for n in nets[1:]:
        if n.W_EE.shape[1:] != ref.W_EE.shape[1:] or n.W_II.shape[1:] != ref.W_II.shape[1:]:
            raise ShapeError(
                f"cannot stack networks of sizes NE={n.NE}, NI={n.NI} and NE={ref.NE}, NI={ref.NI}"
            )
    xp = ref.xp
    kw = {}
    for f in fields(ref):
        v = getattr(ref, f.name)
        if hasattr(v, "shape") and f.name != "I_E":
            v = xp.concat([getattr(n, f.name) for n in nets], axis=0)
        kw[f.name] = v
    return replace(ref, **kw)
