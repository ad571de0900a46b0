"""Network state of a batch of stochastic spiking coding networks (Mikulasch et al. 2021).

Every array carries a leading axis ``B`` of independent networks. Two kinds of
network share one simulator (:mod:`eicore.dendritic.simulate`):

``somatic``
    Somatic inhibition ``W`` (B, n_z, n_z). Each network is either **SB**
    (somatic balance: Hebbian input rule, Eq 6, and learned inhibition, Eq 4)
    or **analytic DB** (the exact decoder gradient for ``F``, Eq 5, with the
    inhibition set to its balanced value ``W = -F D``, Eq 8/10); the flag
    ``analytic`` (B,) chooses per network, so SB and DB run in one batch.
``dendritic``
    Dendritic inhibition ``Wd[j, i, k]`` (B, n_z, n_x, n_z): the weight from
    neuron ``k`` onto the dendrite of neuron ``j`` that carries input ``i``;
    the learned DB variants "simultaneous", "decay" and "slow" (SI, Figs S2/S3).

Membrane potential (chapter *Model*; the authors' ``src/analytic``), with ``sigma^2`` the paper's
stochasticity and the bias reparametrised by ``sigma^-2``::

    u_j = sigma^-2 [ F_j . x + sum_k W_jk y_k + 0.25 W_jj + b_j ]

For dendritic networks ``W_jk = sum_i Wd[j, i, k]`` (the dendritic potentials
``u_ij = F_ji x_i + sum_k Wd[j,i,k] y_k`` sum to the soma). For analytic DB
``W = -F D``. The spike probability per step is ``sigmoid(u_j)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from ..backend import HostRNG, asarray, host, namespace
from ..errors import ConfigurationError

__all__ = ["KINDS", "VARIANTS", "Network", "make_network", "rule_arrays"]

KINDS = ("somatic", "dendritic")
#: Learning-rule variants; the kind each one needs.
VARIANTS = {
    "SB": "somatic",
    "DB": "somatic",  # analytic DB
    "simultaneous": "dendritic",
    "decay": "dendritic",
    "slow": "dendritic",
}

#: Per-network rates and constants (each a (B,) array); ms units, raw paper values.
RULE_FIELDS = (
    "eta_F", "eta_W", "eta_D", "eta_b", "eta_sigma", "eta_Fbar",
    "decay", "rho", "sigma_final", "analytic", "slow", "kick",
)  # fmt: skip


@dataclass
class Network:
    """State and per-network constants of ``B`` networks (all arrays, one namespace).

    Shapes: ``F`` (B, n_z, n_x) feed-forward weights; ``D`` (B, n_x, n_z)
    online decoder (Eq 10); ``W`` (B, n_z, n_z) somatic inhibition, or ``Wd``
    (B, n_z, n_x, n_z) dendritic inhibition; ``Fbar`` (B, n_z, n_x) the slow
    integrator of the "slow" variant; ``b`` (B, n_z) biases (threshold = -b);
    ``sigma`` (B,) stochasticity; ``y`` (B, n_z) PSP traces; rule fields (B,).
    """

    kind: str
    dt: float  # ms
    tau: float  # ms
    F: Any
    D: Any
    b: Any
    sigma: Any
    y: Any
    W: Any = None
    Wd: Any = None
    Fbar: Any = None
    rules: dict = field(default_factory=dict)

    @property
    def xp(self):
        return namespace(self.F)

    @property
    def batch(self) -> int:
        return int(self.F.shape[0])

    @property
    def n_z(self) -> int:
        return int(self.F.shape[1])

    @property
    def n_x(self) -> int:
        return int(self.F.shape[2])

    @property
    def lam(self) -> float:
        """Per-step decay factor of the PSP traces, exp(-dt/tau)."""
        return math.exp(-self.dt / self.tau)

    def somatic_inhibition(self):
        """Effective somatic inhibition W (B, n_z, n_z) that drives the dynamics.

        SB: the learned W; analytic DB: ``-F D`` (Eq 8 with the decoder D);
        dendritic networks: ``sum_i Wd[:, :, i, :]`` (dendrites sum at the soma).
        """
        xp = self.xp
        if self.kind == "dendritic":
            return xp.sum(self.Wd, axis=2)
        analytic = xp.reshape(self.rules["analytic"], (-1, 1, 1)) > 0.5
        return xp.where(analytic, -(self.F @ self.D), self.W)

    def copy(self) -> Network:
        xp = self.xp
        kw = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "rules":
                v = {k: xp.asarray(a, copy=True) for k, a in v.items()}
            elif hasattr(v, "shape"):
                v = xp.asarray(v, copy=True)
            kw[f.name] = v
        return Network(**kw)

    def select(self, idx) -> Network:
        """Networks ``idx`` (a list of ints) as a new batch."""
        xp = self.xp
        ii = xp.asarray(list(idx), dtype=xp.int64)
        kw = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "rules":
                v = {k: xp.take(a, ii, axis=0) for k, a in v.items()}
            elif hasattr(v, "shape"):
                v = xp.take(v, ii, axis=0)
            kw[f.name] = v
        return Network(**kw)


def rule_arrays(batch: int, xp, **values) -> dict:
    """Per-network rule constants as (B,) float32 arrays; scalars broadcast."""
    out = {}
    for name in RULE_FIELDS:
        v = values.pop(name, 0.0)
        a = xp.asarray(v, dtype=xp.float32)
        if a.ndim == 0:
            a = xp.full((batch,), float(v), dtype=xp.float32)
        if a.shape != (batch,):
            raise ConfigurationError(
                f"rule constant {name!r} must be a scalar or have shape "
                f"({batch},), got {tuple(a.shape)}"
            )
        out[name] = a
    if values:
        raise ConfigurationError(
            f"unknown rule constant(s) {sorted(values)}; known: {list(RULE_FIELDS)}"
        )
    return out


def _per_net(v, batch):
    if isinstance(v, str):
        return [v] * batch
    v = list(v)
    if len(v) != batch:
        raise ConfigurationError(f"need one variant per network ({batch}), got {len(v)}")
    return v


def _init_draw(rng, scale, batch, n_z, n_x, init_index, xp):
    """Normal draws (batch, n_z, n_x): block ``init_index[b]`` of the generator's stream."""
    if init_index is None:
        return rng.normal(0.0, scale, (batch, n_z, n_x))
    idx = [int(i) for i in init_index]
    if len(idx) != batch or min(idx) < 0:
        raise ConfigurationError(f"init_index needs {batch} non-negative block numbers, got {idx}")
    g = rng.normal(0.0, scale, (max(idx) + 1, n_z, n_x))
    return xp.take(g, xp.asarray(idx, dtype=xp.int64), axis=0)


def make_network(
    variant,
    *,
    n_z: int,
    n_x: int,
    batch: int = 1,
    dt: float = 1.0,
    tau: float = 10.0,
    rho=0.015,
    sigma_init: float = 1.0,
    sigma_final: float | None = None,
    eta_F=0.0,
    eta_W=0.0,
    eta_D=0.0,
    eta_b=0.0,
    eta_sigma=0.0,
    eta_Fbar=0.0,
    decay=0.0,
    F0=None,
    F_init: str = "zero",
    F_scale: float = 0.0,
    seed=None,
    init_index=None,
    D_init: str = "zero",
    xp=None,
    dtype=None,
) -> Network:
    """A batch of ``batch`` fresh networks.

    Parameters
    ----------
    variant
        ``"SB"``, ``"DB"`` (analytic), ``"simultaneous"``, ``"decay"`` or
        ``"slow"``, or a list with one per network (SB and DB mix; the three
        learned DB variants mix; somatic and dendritic kinds do not).
    rho
        Target rate in 1/ms (15 Hz = 0.015), a scalar or one per network (B,); the
        biases start at the value that fires at this rate.
    sigma_init, sigma_final
        sigma (not sigma^2) at the start and the annealing target.
    eta_*
        Raw learning rates (multiplied by dt in ms inside the rules), scalars
        or (B,) arrays; ``decay`` is the weight decay lambda of "decay".
    F0
        Initial feed-forward weights (B, n_z, n_x) or (n_z, n_x); otherwise
        ``F_init``: ``"zero"``, ``"const"`` (``F_scale`` everywhere, e.g. 0.001
        for "slow"/"decay"), ``"random"`` (``|N(0, F_scale^2)|``), or ``"mnist"``
        (``exp(max(0, 0.3 g - 0.2)) - 0.99``,
        as in the authors' MNIST scripts) drawn from ``seed``.
    init_index
        For ``"random"`` and ``"mnist"``: network ``b`` gets block ``init_index[b]`` of the
        draws of ``seed`` (default: block ``b``), so that a network starts from the same
        weights whatever batch it runs in.
    D_init
        ``"zero"`` (the authors' default) or ``"FT"``: start the decoder at ``Fᵀ``, so that
        an analytic-DB network that starts from non-zero ``F`` starts balanced
        (``W = -F Fᵀ``, whose diagonal is SB's starting ``W_jj = -|F_j|^2``).

    The initial inhibition is balanced for the starting weights: SB
    ``W_jj = -|F_j|^2``; dendritic ``Wd[j, i, j] = -F_ji^2``;
    analytic DB uses ``-F D`` with ``D = 0``.
    """
    from ..backend import get_xp

    xp = xp or get_xp()
    dtype = dtype or xp.float32
    variants = _per_net(variant, batch)
    unknown = sorted({v for v in variants if v not in VARIANTS})
    if unknown:
        raise ConfigurationError(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    kinds = {VARIANTS[v] for v in variants}
    if len(kinds) != 1:
        raise ConfigurationError(
            "SB/DB (somatic) and learned dendritic variants cannot share a "
            "batch; run them as two batches"
        )
    kind = kinds.pop()

    if F0 is not None:
        F = xp.asarray(F0, dtype=dtype)
        if F.ndim == 2:
            F = xp.broadcast_to(F[None, ...], (batch, n_z, n_x))
        F = xp.asarray(F, dtype=dtype, copy=True)
    elif F_init == "zero":
        F = xp.zeros((batch, n_z, n_x), dtype=dtype)
    elif F_init == "const":
        F = xp.full((batch, n_z, n_x), F_scale, dtype=dtype)
    elif F_init == "random":
        g = _init_draw(HostRNG(seed, xp=xp), F_scale, batch, n_z, n_x, init_index, xp)
        F = xp.asarray(xp.abs(g), dtype=dtype)
    elif F_init == "mnist":
        g = _init_draw(HostRNG(seed, xp=xp), 1.0, batch, n_z, n_x, init_index, xp)
        F = xp.asarray(xp.exp(xp.clip(0.3 * g - 0.2, 0.0, None)) - 0.99, dtype=dtype)
    else:
        raise ConfigurationError(f"unknown F_init {F_init!r}; use zero, const, random or mnist")

    sig = float(sigma_init)
    sf = sig if sigma_final is None else float(sigma_final)
    rho_h = host.asarray(rho, dtype=host.float64)
    if rho_h.ndim == 0:
        rho_h = host.full((batch,), float(rho_h))
    if rho_h.shape != (batch,):
        raise ConfigurationError(
            f"rho must be a scalar or have shape ({batch},), got {tuple(rho_h.shape)}"
        )
    p = rho_h * dt  # spike probability per step at the target rate
    if not ((p > 0.0) & (p < 1.0)).all():
        raise ConfigurationError(
            f"rho * dt must lie in (0, 1) (a spike probability per step); got {p.tolist()}"
            " - rho is in 1/ms (15 Hz = 0.015) and dt in ms"
        )
    b0 = sig**2 * host.log(p / (1.0 - p))  # bias that fires at rho when u = 0 (B,)
    rules = rule_arrays(
        batch, xp, eta_F=eta_F, eta_W=eta_W, eta_D=eta_D, eta_b=eta_b, eta_sigma=eta_sigma,
        eta_Fbar=eta_Fbar, decay=decay, rho=rho_h, sigma_final=sf,
        analytic=[1.0 if v == "DB" else 0.0 for v in variants],
        slow=[1.0 if v == "slow" else 0.0 for v in variants],
        kick=[1.0 if v == "simultaneous" else 0.0 for v in variants],
    )  # fmt: skip
    net = Network(
        kind=kind, dt=float(dt), tau=float(tau), F=F,
        D=(xp.zeros((batch, n_x, n_z), dtype=dtype) if D_init == "zero"
           else xp.asarray(xp.permute_dims(F, (0, 2, 1)), copy=True)),
        b=asarray(host.repeat(b0[:, None], n_z, axis=1), dtype=dtype, xp=xp),
        sigma=xp.full((batch,), sig, dtype=dtype),
        y=xp.zeros((batch, n_z), dtype=dtype), rules=rules,
    )  # fmt: skip
    eye = xp.eye(n_z, dtype=dtype)
    if kind == "somatic":
        net.W = -xp.sum(F * F, axis=2)[:, :, None] * eye
    else:
        # Wd[j, i, k] = -F_ji^2 if k == j
        net.Wd = -(F * F)[:, :, :, None] * eye[None, :, None, :]
        net.Fbar = xp.asarray(F, copy=True)
    return net
