"""The multi-layer E/I microcircuit network, its controller, targets and errors.

Rossbroich & Zenke (2023), as implemented in the authors' code (authors' ``src/core/model.py``;
chapter ``book/disinhibition/01_microcircuit.ipynb``). Every hidden unit is an
excitatory (E) neuron with its own inhibitory (I) partner::

    a_l   = W_l^T r_{l-1} + b_l,   r_0 = x,  r_l = phi_E(u^E_l)
    tau_E du^E_l/dt = -u^E_l + a_l - phi_I(u^I_l)
    tau_I du^I_l/dt = -u^I_l + phi_E(u^E_l) - Q_l^T c          (top-down control dis-inhibits)
    tau_E du_out/dt = -u_out + W_out^T r_L + c                  (linear readout, logits)

A leaky PI controller closes the loop: ``e = -dL/du_out``, ``c = k_p e + k_i c_int``,
``tau_c dc_int/dt = e - leak c_int``. In open loop ``c = 0``.

Arrays carry a batch axis ``B`` of samples. Kernels are ``(n_in, n_out)``
as in flax; ``Q_l`` is per sample, ``(B, n_out, n_l)``. Optionally every array also has a
leading axis ``S`` of independent networks (e.g. seeds, ``init_params(..., n_networks=S)``):
kernels ``(S, n_in, n_out)``, biases ``(S, 1, n)``, states ``(S, B, n)``; inputs ``x`` may be
shared ``(B, n_in)`` or per network ``(S, B, n_in)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from ..backend import HostRNG, default_dtype, get_xp, namespace
from ..errors import ConfigurationError, ShapeError, check_shape
from .activation import SOFTPLUS, SoftReLU

__all__ = [
    "LOSSES",
    "LeakyPI",
    "MicrocircuitConfig",
    "Params",
    "State",
    "cross_entropy",
    "init_params",
    "mse",
    "output_error",
    "soft_targets",
    "softmax",
]

#: Loss names accepted by :class:`MicrocircuitConfig`.
LOSSES = ("ce", "mse")


def check_positive(owner: str, **values) -> None:
    """One-line :class:`~eicore.errors.ConfigurationError` for a size, count or time
    constant that is not positive."""
    for name, v in values.items():
        vals = v if isinstance(v, tuple | list) else (v,)
        if any(not (isinstance(x, int | float) and x > 0) for x in vals):
            raise ConfigurationError(f"{owner}: {name} must be positive, got {v!r}")


@dataclass(frozen=True)
class LeakyPI:
    """Leaky proportional-integral controller (authors' ``src/core/model.py``;
    defaults from the authors' config)."""

    k_p: float = 0.2
    k_i: float = 0.4
    leak: float = 1.0
    tau: float = 0.1

    def __post_init__(self):
        check_positive("LeakyPI", tau=self.tau, leak=self.leak)

    @property
    def gain(self) -> float:
        """Steady-state gain ``K = k_p + k_i / leak``: at steady state ``c = K e``."""
        return self.k_p + self.k_i / self.leak


@dataclass(frozen=True)
class MicrocircuitConfig:
    """Fixed (non-learned) constants of the E/I microcircuit network (authors' model.py, conf/)."""

    act_E: SoftReLU = SOFTPLUS
    act_I: SoftReLU = SOFTPLUS
    tau_E: float = 0.02
    tau_I: float = 0.005
    controller: LeakyPI = field(default_factory=LeakyPI)
    loss: str = "ce"

    def __post_init__(self):
        check_positive("MicrocircuitConfig", tau_E=self.tau_E, tau_I=self.tau_I)
        if self.loss not in LOSSES:
            raise ConfigurationError(f"unknown loss {self.loss!r}; choose one of {LOSSES}")


@dataclass
class Params:
    """Learned weights: hidden kernels ``W`` (list of ``(n_{l-1}, n_l)``), biases ``b``,
    readout kernel ``W_out`` ``(n_L, n_out)`` (no readout bias, as the authors)."""

    W: list
    b: list
    W_out: object

    @property
    def n_hidden_layers(self) -> int:
        return len(self.W)

    @property
    def n_networks(self) -> int | None:
        """Number of independent networks on the leading axis (None: a single network)."""
        return None if self.W_out.ndim == 2 else int(self.W_out.shape[0])

    @property
    def sizes(self) -> list[int]:
        return (
            [int(self.W[0].shape[-2])]
            + [int(w.shape[-1]) for w in self.W]
            + [int(self.W_out.shape[-1])]
        )

    def arrays(self) -> list:
        """Flat list ``[W_1, b_1, ..., W_L, b_L, W_out]`` (the order of gradients and Adam)."""
        out = []
        for w, b in zip(self.W, self.b):
            out += [w, b]
        return out + [self.W_out]

    def with_arrays(self, arrays: list) -> Params:
        L = self.n_hidden_layers
        return Params(
            W=list(arrays[0 : 2 * L : 2]), b=list(arrays[1 : 2 * L : 2]), W_out=arrays[2 * L]
        )

    def copy(self) -> Params:
        xp = namespace(self.W_out)
        return self.with_arrays([xp.asarray(a, copy=True) for a in self.arrays()])


@dataclass
class State:
    """Network state per sample: ``uE``, ``uI`` (lists over hidden layers, ``(B, n_l)``),
    readout potential ``u_out`` ``(B, n_out)`` and controller integral ``c_int``."""

    uE: list
    uI: list
    u_out: object
    c_int: object

    def flat(self) -> list:
        return [*self.uE, *self.uI, self.u_out, self.c_int]

    @staticmethod
    def from_flat(arrays: list) -> State:
        L = (len(arrays) - 2) // 2
        return State(list(arrays[:L]), list(arrays[L : 2 * L]), arrays[2 * L], arrays[2 * L + 1])

    @staticmethod
    def zeros(params: Params, batch: int) -> State:
        check_positive("State.zeros", batch=batch)
        xp = namespace(params.W_out)
        dt = params.W_out.dtype
        lead = () if params.n_networks is None else (params.n_networks,)
        z = lambda n: xp.zeros((*lead, batch, n), dtype=dt)
        sizes = params.sizes
        return State(
            [z(n) for n in sizes[1:-1]], [z(n) for n in sizes[1:-1]], z(sizes[-1]), z(sizes[-1])
        )

    def replace(self, **kw) -> State:
        return replace(self, **kw)


def _truncated_normal(gen, shape, std):
    """Normal truncated at +-2 sd, rescaled to standard deviation ``std`` (flax lecun_normal)."""
    z = gen.standard_normal(shape)
    bad = abs(z) > 2.0
    while bad.any():
        z[bad] = gen.standard_normal(int(bad.sum()))
        bad = abs(z) > 2.0
    return z * (std / 0.87962566103423978)


def init_params(sizes, seed=0, xp=None, dtype=None, n_networks=None) -> Params:
    """Random weights as the authors' flax defaults (authors' ``src/core/model.py``).

    Kernels ~ truncated normal with variance ``1 / fan_in`` (``lecun_normal``), biases zero.

    Parameters
    ----------
    sizes
        ``[n_in, n_1, ..., n_L, n_out]``, e.g. ``[784, 256, 256, 256, 10]``.
    seed
        Seed of the host generator (:class:`eicore.backend.HostRNG`); with ``n_networks``,
        a sequence of ``n_networks`` seeds (or an int: seeds ``seed, seed + 1, ...``).
    n_networks
        Stack that many independent networks on a leading axis (biases become ``(S, 1, n)``).
    """
    if n_networks is not None:
        check_positive("init_params", n_networks=n_networks)
        seeds = list(seed) if not isinstance(seed, int) else [seed + k for k in range(n_networks)]
        if len(seeds) != n_networks:
            raise ConfigurationError(f"need {n_networks} seeds, got {len(seeds)}")
        nets = [init_params(sizes, s, xp=xp, dtype=dtype) for s in seeds]
        xp = namespace(nets[0].W_out)
        stack = lambda arrs: xp.stack(arrs, axis=0)
        return Params(
            W=[stack([n.W[l] for n in nets]) for l in range(len(nets[0].W))],
            b=[stack([n.b[l][None, :] for n in nets]) for l in range(len(nets[0].b))],
            W_out=stack([n.W_out for n in nets]),
        )
    sizes = [int(s) for s in sizes]
    if len(sizes) < 3:
        raise ConfigurationError(
            f"sizes must be [n_in, n_hidden..., n_out] with at least one hidden layer, got {sizes}"
        )
    check_positive("init_params", sizes=sizes)
    xp = xp or get_xp()
    dtype = dtype or default_dtype(xp)
    gen = HostRNG(seed, xp=xp).generator
    mk = lambda a: xp.asarray(a, dtype=dtype)
    W, b = [], []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        W.append(mk(_truncated_normal(gen, (n_in, n_out), math.sqrt(1.0 / n_in))))
        b.append(xp.zeros((n_out,), dtype=dtype))
    W_out = mk(_truncated_normal(gen, (sizes[-2], sizes[-1]), math.sqrt(1.0 / sizes[-2])))
    return Params(W, b, W_out)


def softmax(z):
    xp = namespace(z)
    e = xp.exp(z - xp.max(z, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def log_softmax(z):
    xp = namespace(z)
    m = xp.max(z, axis=-1, keepdims=True)
    return z - m - xp.log(xp.sum(xp.exp(z - m), axis=-1, keepdims=True))


def soft_targets(labels, n_classes=10, value=0.99, dtype=None):
    """Soft one-hot targets: ``value`` for the true class, ``(1 - value) / (n - 1)`` elsewhere.

    The authors' ``y* = onehot (0.99 - 0.01/9) + 0.01/9`` (authors' ``src/core/model.py``).
    """
    xp = namespace(labels)
    dtype = dtype or default_dtype(xp)
    if labels.ndim < 1:
        raise ShapeError(f"labels must be an integer array (B,), got shape {tuple(labels.shape)}")
    classes = xp.arange(n_classes, dtype=labels.dtype)
    onehot = xp.astype(labels[..., None] == classes, dtype)
    off = (1.0 - value) / (n_classes - 1)
    return onehot * (value - off) + off


def output_error(u_out, y_star, loss="ce"):
    """``e = -dL/du_out``: ``y* - softmax(u_out)`` (CE) or ``y* - u_out`` (MSE)
    (authors' ``src/core/model.py``)."""
    if loss == "ce":
        return y_star - softmax(u_out)
    if loss == "mse":
        return y_star - u_out
    raise ConfigurationError(f"unknown loss {loss!r}; choose one of {LOSSES}")


def cross_entropy(u_out, y_star):
    """Soft-target cross-entropy ``-sum y* log softmax(u_out)``, mean over the batch
    (one value per network for a stack of networks)."""
    xp = namespace(u_out)
    return -xp.mean(xp.sum(y_star * log_softmax(u_out), axis=-1), axis=-1)


def mse(u_out, y_star):
    """``sum (y - y*)^2``, mean over the batch."""
    xp = namespace(u_out)
    return xp.mean(xp.sum((u_out - y_star) ** 2, axis=-1))


def check_inputs(params: Params, x, y_star=None, Q=None):
    """Clear errors for inputs that do not fit the network."""
    n_in = params.sizes[0]
    S = params.n_networks
    if S is not None and x.ndim == 3:
        check_shape("x", x, (S, None, n_in))
    else:
        check_shape("x", x, (None, n_in))
    B = x.shape[-2]
    lead = () if S is None else (S,)
    if y_star is not None:
        if y_star.ndim == 2:
            check_shape("y_star", y_star, (B, params.sizes[-1]))
        else:
            check_shape("y_star", y_star, (*lead, B, params.sizes[-1]))
    if Q is not None:
        if len(Q) != params.n_hidden_layers:
            raise ShapeError(
                f"Q must hold one feedback matrix per hidden layer ({params.n_hidden_layers}), "
                f"got {len(Q)}"
            )
        for l, q in enumerate(Q):
            check_shape(f"Q[{l}]", q, (*lead, B, params.sizes[-1], params.sizes[l + 1]))
