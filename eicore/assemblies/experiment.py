"""Training loop, response sweeps, knock-outs and perturbations (the core of Part I).

Mackwood et al. (2021): training protocol (Materials and methods, "Synaptic plasticity"),
knock-outs (Figs 2-3), perturbations (Fig 4). :class:`Trainer` is one training run in
resumable steps (:func:`train` runs it to the end); knock-outs are zeros in per-network
learning-rate vectors, so plastic and knock-out networks train as one batch. The
registered experiments of :mod:`.protocols` run these functions and store their results.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..backend import HostRNG, host, to_numpy
from ..errors import ConfigurationError
from .dynamics import authors_steady_state, cold_start, steady_state
from .network import Network, check_positive
from .plasticity import (
    Adam,
    apply_local,
    gradient_updates,
    local_updates,
    update_angle,
)

__all__ = [
    "CONDITIONS",
    "Sweep",
    "Trainer",
    "TrainingHistory",
    "learning_rates",
    "mode_comparison",
    "perturbation_influence",
    "response_sweep",
    "sweep_from_states",
    "train",
]

#: Conditions: (name, Pyr->PV input plasticity on, PV->Pyr output plasticity on).
CONDITIONS = {
    "plastic": (1.0, 1.0),
    "output_ko": (1.0, 0.0),  # only Pyr -> PV plastic ("EXC" in the authors' code), Fig 2
    "input_ko": (0.0, 1.0),  # only PV -> Pyr plastic ("INH"), Fig 3
    "input_ko_heavy": (0.0, 1.0),  # input-KO with static heavy-tailed Pyr -> PV weights, Fig 3-S2
}


def learning_rates(conditions: list[str], eta: float) -> tuple[list[float], list[float]]:
    """Per-network ``(eta_E, eta_I)`` (input, output) for a list of condition names."""
    bad = [c for c in conditions if c not in CONDITIONS]
    if bad:
        raise ConfigurationError(f"unknown condition(s) {bad}; choose from {list(CONDITIONS)}")
    return ([eta * CONDITIONS[c][0] for c in conditions],
            [eta * CONDITIONS[c][1] for c in conditions])


@dataclass
class Sweep:
    """Steady-state responses of ``B`` networks to ``S`` stimuli (host arrays).

    ``rE (B,S,NE)``, ``rI (B,S,NI)``, ``h (B,S,N)``; ``exc (B,S,NE)`` the excitatory current
    onto Pyr cells (``W_EE r_E + I(s) + I_bg``) and ``inh (B,S,NE)`` the inhibitory one
    (``W_EI r_I``).
    """

    h: Any
    rE: Any
    rI: Any
    exc: Any
    inh: Any
    steps: int


def response_sweep(net: Network, stim: Any = None, *, tol: float = 0.01, dt: float = 20.0,
                   h0: Any = None) -> Sweep:
    """Responses to all stimuli (or the indices ``stim``), all in one batched solve."""
    xp = net.xp
    b = net.drive(None if stim is None else xp.asarray(stim))
    S = b.shape[0]
    if h0 is None:
        h0 = cold_start(net.B, S, net.NE, net.NI, xp, net.W_EE.dtype)
    h, n = steady_state(net.full_matrix(), b, h0, net.tau(), dt=dt, tol=tol)
    return sweep_from_states(net, h, stim, steps=n)


def sweep_from_states(net: Network, h: Any, stim: Any = None, *, steps: int = 0) -> Sweep:
    """The :class:`Sweep` of steady states ``h (B, S', N)`` (all stimuli, or ``stim``):
    rates and currents are recomputed from ``h`` and the weights (e.g. of stored results)."""
    xp = net.xp
    h = xp.asarray(h)
    b = net.drive(None if stim is None else xp.asarray(stim))
    rE = xp.maximum(h[..., : net.NE], 0.0)
    rI = xp.maximum(h[..., net.NE :], 0.0)
    exc = xp.matmul(rE, xp.matrix_transpose(net.W_EE)) + b[..., : net.NE]
    inh = xp.matmul(rI, xp.matrix_transpose(net.W_EI))
    return Sweep(*(to_numpy(a) for a in (h, rE, rI, exc, inh)), steps=steps)


@dataclass
class TrainingHistory:
    """What :func:`train` records (host arrays).

    ``loss (B, trials)``: mean over stimuli of ``1/2 sum_j (h_E_j - rho0)^2`` during each
    trial; ``angle_IE``, ``angle_EI (B, trials*S)``: Eq 7 angles (degrees) between the
    local update and the gradient, per presentation (empty unless requested, NaN where
    skipped); ``steps (trials*S,)``: solver steps per presentation; ``seconds``: wall time,
    ``cpu_seconds``: CPU time of this process (robust to other jobs on the machine).

    Histories rebuilt from stored results (:func:`eicore.assemblies.protocols.trained_conditions`)
    keep only some presentations: ``presentation`` then gives the index of every column
    of ``angle_IE``/``angle_EI``, and ``angle_IE_median``/``angle_EI_median (B, trials)``
    the median angle of every trial over all recorded presentations.
    """

    loss: Any
    angle_IE: Any
    angle_EI: Any
    steps: Any
    seconds: float
    meta: dict = field(default_factory=dict)
    cpu_seconds: float = float("nan")
    presentation: Any = None
    angle_IE_median: Any = None
    angle_EI_median: Any = None


class Trainer:
    """The whole state of one run of :func:`train`, advanced presentation by presentation.

    Everything that changes lives in this object (networks, connectivity matrix, warm-start
    states ``H`` and adjoints ``LAM``, Adam moments, the stimulus-order generators, the
    current trial's order and position, partial loss and histories), so it pickles whole:
    a run checkpointed between two calls of :meth:`Trainer.advance` and resumed gives bitwise the
    result of an uninterrupted one. ``seed`` is one seed for all networks or one per
    network; every network presents the stimuli in the order drawn from its own seed
    (networks of one seed share one generator, so they see the same order).
    """

    def __init__(self, net: Network, *, rule: str = "local", eta_E: Any, eta_I: Any,
                 trials: int, decay: float = 0.1, rho0: float = 1.0, tol: float = 0.05,
                 dt: float = 20.0, angle: bool = False, angle_every: int = 1,
                 adam: dict | None = None, seed: Any = 0, mode: str = "paper"):
        if rule not in ("local", "gradient"):
            raise ConfigurationError(f"unknown rule {rule!r}; use 'local' or 'gradient'")
        if mode not in ("paper", "authors"):
            raise ConfigurationError(f"unknown mode {mode!r}; use 'paper' or 'authors'")
        self.mode = mode
        check_positive(trials=trials, angle_every=angle_every)
        net = net.copy()
        xp = net.xp
        B, S, NE = net.B, net.S, net.NE
        eta_E = xp.asarray(eta_E, dtype=net.V_IE.dtype)
        eta_I = xp.asarray(eta_I, dtype=net.V_IE.dtype)
        if eta_E.shape != (B,) or eta_I.shape != (B,):
            raise ConfigurationError(f"eta_E and eta_I need one value per network (B={B})")
        seeds = [int(seed)] * B if isinstance(seed, int | host.integer) else [int(s) for s in seed]
        if len(seeds) != B:
            raise ConfigurationError(f"seed needs one value per network (B={B}), got {len(seeds)}")
        self.net, self.rule, self.eta_E, self.eta_I = net, rule, eta_E, eta_I
        self.trials, self.decay, self.rho0, self.tol, self.dt = trials, decay, rho0, tol, dt
        self.angle, self.angle_every = bool(angle), int(angle_every)
        self.seeds = seeds
        self.plastic_E = to_numpy(eta_E) > 0
        self.gens = {s: HostRNG(s).generator for s in dict.fromkeys(seeds)}
        self.tau = net.tau()
        self.b_all = net.drive()
        self.M = net.full_matrix()
        self.H, _ = steady_state(self.M, self.b_all,
                                 cold_start(B, S, NE, net.NI, xp, self.M.dtype), self.tau,
                                 dt=dt, tol=tol)
        self.LAM = xp.zeros_like(self.H) if (rule == "gradient" or angle) else None
        if mode == "authors":  # the authors' Adam: no bias correction, eps 1e-8
            adam = dict(adam or {}, bias_correction=False, eps=1e-8)
        self.opt = Adam(net, eta_E, eta_I, **(adam or {})) if rule == "gradient" else None
        self.loss = host.zeros((B, trials))
        n_pres = trials * S
        self.ang_IE = host.full((B, n_pres if angle else 0), host.nan, dtype=host.float32)
        self.ang_EI = host.full((B, n_pres if angle else 0), host.nan, dtype=host.float32)
        self.steps = host.zeros(n_pres, dtype=host.int32)
        self.t = 0  # current trial
        self.pos = 0  # presentations done in the current trial
        self.k = 0  # presentations done in all
        self.order: Any = None  # (B, S) stimulus order of the current trial
        self.acc: Any = None  # loss accumulated in the current trial
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def __getstate__(self) -> dict:
        # the drive and the connectivity matrix follow from the networks; a checkpoint
        # leaves them out (about half its size) and __setstate__ rebuilds them bitwise
        state = self.__dict__.copy()
        del state["b_all"], state["M"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.b_all = self.net.drive()
        self.M = self.net.full_matrix()

    @property
    def total(self) -> int:
        """Presentations in all (``trials * S``)."""
        return self.trials * self.net.S

    @property
    def done(self) -> bool:
        return self.k >= self.total

    def advance(self, n: int) -> int:
        """Present up to ``n`` more stimuli; returns how many were presented."""
        net, xp = self.net, self.net.xp
        B, S, NE = net.B, net.S, net.NE
        M, tau, dt, tol = self.M, self.tau, self.dt, self.tol
        t0, c0 = time.perf_counter(), time.process_time()
        todo = min(int(n), self.total - self.k)
        for _ in range(todo):
            if self.pos == 0:
                perms = {s: g.permutation(S) for s, g in self.gens.items()}
                self.order = host.stack([perms[s] for s in self.seeds])
                self.acc = xp.zeros((B,), dtype=M.dtype)
            col = self.order[:, self.pos]
            same = bool((col == col[0]).all())
            ok = None
            if self.mode == "authors":
                h, ok, st = authors_steady_state(
                    M, xp.stack([self.b_all[int(c), :] for c in col.tolist()])[:, None, :], tau,
                    NE, rho0=self.rho0, h_I0=float(net.I_I))
                n_steps = int(st.max())
                ok = ok[:, 0]
            elif same:  # every network sees the same stimulus
                s = int(col[0])
                h, n_steps = steady_state(M, self.b_all[s : s + 1, :], self.H[:, s : s + 1, :],
                                          tau, dt=dt, tol=tol)
                self.H[:, s : s + 1, :] = h
            else:
                idx = [int(c) for c in col.tolist()]
                b = xp.stack([self.b_all[c : c + 1, :] for c in idx])
                h0 = xp.concat([self.H[i : i + 1, c : c + 1, :] for i, c in enumerate(idx)],
                               axis=0)
                h, n_steps = steady_state(M, b, h0, tau, dt=dt, tol=tol)
                for i, c in enumerate(idx):
                    self.H[i : i + 1, c : c + 1, :] = h[i : i + 1, ...]
            self.steps[self.k] = n_steps
            h = h[:, 0, :]
            e = h[:, :NE] - self.rho0
            self.acc = self.acc + 0.5 * xp.sum(e * e, axis=1)
            want_angle = self.angle and self.k % self.angle_every == 0
            if self.mode == "authors" and (self.rule == "gradient" or want_angle):
                G_EI, G_IE, _ = gradient_updates(net, h, self.rho0, M=M, method="direct")
            elif self.rule == "gradient" or want_angle:
                if same:
                    lam0 = self.LAM[:, s, :]
                else:
                    lam0 = xp.concat([self.LAM[i : i + 1, c, :] for i, c in enumerate(idx)],
                                     axis=0)
                G_EI, G_IE, lam = gradient_updates(
                    net, h, self.rho0, M=M, method="iterative", lam0=lam0, dt=dt
                )
                if same:
                    self.LAM[:, s, :] = lam
                else:
                    for i, c in enumerate(idx):
                        self.LAM[i : i + 1, c, :] = lam[i : i + 1, ...]
            if self.rule == "local":
                A_EI, A_IE = local_updates(net, h, self.rho0)
                if want_angle:
                    self.ang_IE[:, self.k] = to_numpy(update_angle(G_IE, A_IE))
                    self.ang_EI[:, self.k] = to_numpy(update_angle(G_EI, A_EI))
                if ok is None:
                    apply_local(net, A_EI, A_IE, self.eta_E, self.eta_I, self.decay)
                else:  # authors: no update where the solve failed; W_IE rows normalised
                    okx = xp.asarray(ok, dtype=self.eta_E.dtype)  # only after an update
                    apply_local(net, A_EI, A_IE, self.eta_E * okx, self.eta_I * okx,
                                self.decay, normalise_IE=(ok & self.plastic_E).tolist())
            else:
                self.opt.step(net, G_EI, G_IE, self.decay,
                              mask=None if ok is None else ok.tolist())
            M[:, :NE, NE:] = -net.W_EI
            M[:, NE:, :NE] = net.W_IE
            self.k += 1
            self.pos += 1
            if self.pos == S:
                self.loss[:, self.t] = to_numpy(self.acc) / S
                self.t += 1
                self.pos = 0
                self.order = self.acc = None
        self.seconds += time.perf_counter() - t0
        self.cpu_seconds += time.process_time() - c0
        return todo

    def history(self) -> TrainingHistory:
        return TrainingHistory(
            loss=self.loss, angle_IE=self.ang_IE, angle_EI=self.ang_EI, steps=self.steps,
            seconds=self.seconds, cpu_seconds=self.cpu_seconds,
            meta=dict(rule=self.rule, trials=self.trials, B=self.net.B,
                      eta_E=to_numpy(self.eta_E).tolist(), eta_I=to_numpy(self.eta_I).tolist(),
                      seeds=list(self.seeds)),
        )


def train(
    net: Network,
    *,
    rule: str = "local",
    eta_E: Any,
    eta_I: Any,
    trials: int,
    decay: float = 0.1,
    rho0: float = 1.0,
    tol: float = 0.05,
    dt: float = 20.0,
    angle: bool = False,
    angle_every: int = 1,
    adam: dict | None = None,
    seed: Any = 0,
    progress: bool = False,
    mode: str = "paper",
) -> tuple[Network, TrainingHistory]:
    """Online learning: ``trials`` passes over all stimuli in random order, batched over B.

    ``rule="local"``: Eq 8 with plain steps of size ``eta`` and PV input normalisation;
    ``rule="gradient"``: Eq 15 with Adam (``adam`` = beta1, beta2, eps, bias_correction).
    ``eta_E``/``eta_I`` are per-network ``(B,)`` learning rates of the PV input (Pyr -> PV)
    and output (PV -> Pyr) synapses; zeros knock plasticity out. Each presentation
    solves the steady state from a warm start (the same stimulus' state in the previous
    trial), then updates the weights (Euler step ``dt`` ms; 30 ms is faster and safe at the
    paper's small learning rate, 20 ms is needed for the larger ``ci`` learning rates).
    ``angle=True`` also computes the gradient (Eq 15) and records the angle (Eq 7) every
    ``angle_every``-th presentation (NaN in between; the diagnostic does not change
    learning). ``seed`` draws the stimulus order (one seed, or one per network).
    Returns the trained copy and a :class:`TrainingHistory`. :class:`Trainer` is the same
    run in resumable steps.

    ``mode="authors"`` reproduces the authors' code instead of the paper's equations: every
    presentation is solved from a cold start by :func:`.dynamics.authors_steady_state`
    (leak on ``r``, Euler at 1 ms, stop at 0.5 Hz on active units; the learning signal of
    silent Pyr cells uses their drifted ``h``), no update follows a solve that did not
    converge, ``W_IE`` rows are normalised only after an update of a network with plastic
    inputs (never in input knock-outs), Adam has no bias correction and ``eps = 1e-8``, and
    gradients use the dense adjoint. ``dt`` and ``tol`` are then unused.

    Every network of a batch has its own solver step and convergence test
    (:func:`.dynamics.steady_state`), so a network trained in a batch equals the same
    network trained alone (bitwise on NumPy; tests), also when another network of the
    batch needs smaller or more steps.
    """
    tr = Trainer(net, rule=rule, eta_E=eta_E, eta_I=eta_I, trials=trials, decay=decay,
                 rho0=rho0, tol=tol, dt=dt, angle=angle, angle_every=angle_every, adam=adam,
                 seed=seed, mode=mode)
    bar = None
    if progress:
        from ..progress import tqdm

        bar = tqdm(total=trials, desc=f"training ({rule}, B={tr.net.B})")
    while not tr.done:
        tr.advance(tr.net.S)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return tr.net, tr.history()


def perturbation_influence(
    net: Network, cells: Any, stim: Any, *, dI: float = 10.0, tol: float = 0.005,
    dt: float = 20.0, chunk: int = 4, base: Any = None,
) -> Any:
    """Influence of +``dI`` Hz on single Pyr cells (Fig 4), host ``(B, P, S', NE)``.

    For each perturbed cell ``n`` in ``cells`` and stimulus in ``stim``, the steady state
    with ``I_n += dI`` is solved (warm-started from the unperturbed one, batched over
    stimuli and ``chunk`` perturbed cells at a time); influence on cell ``j`` is
    ``(r_j^pert - r_j) / dI`` (the perturbed cell's own entry included). ``base``: the
    unperturbed :class:`Sweep` of ``stim`` (solved here if not given), so that a long
    protocol can perturb a few cells at a time.
    """
    xp = net.xp
    stim_a = xp.asarray(stim)
    cells = [int(c) for c in to_numpy(cells).tolist()]
    if base is None:
        base = response_sweep(net, stim_a, tol=tol, dt=dt)
    h_base = xp.asarray(base.h)
    b = net.drive(stim_a)
    S, N, NE = b.shape[0], b.shape[1], net.NE
    M, tau = net.full_matrix(), net.tau()
    out = host.zeros((net.B, len(cells), S, NE), dtype=host.float32)
    for c0 in range(0, len(cells), chunk):
        cc = cells[c0 : c0 + chunk]
        onehot = host.zeros((len(cc), 1, N), dtype=host.float32)
        for i, c in enumerate(cc):
            onehot[i, 0, c] = dI
        bp = xp.reshape(b[None, :, :] + xp.asarray(onehot, dtype=b.dtype), (len(cc) * S, N))
        h0 = xp.concat([h_base] * len(cc), axis=1)
        h, _ = steady_state(M, bp, h0, tau, dt=dt, tol=tol)
        rE = xp.maximum(xp.reshape(h, (net.B, len(cc), S, N))[..., :NE], 0.0)
        out[:, c0 : c0 + len(cc)] = (to_numpy(rE) - base.rE[:, None]) / dI
    return out


def mode_comparison(p: Any, seed: int = 0, stim: Any = None, rho0: float = 1.0) -> dict:
    """What the authors' code changes before learning (chapter ``01_model``), host numbers.

    ``networks``: for the paper's network and steady state (``"paper"``) and the authors'
    construction and solver (``"authors"``, :func:`.network.build_network` with
    ``authors=True`` and :func:`.dynamics.authors_steady_state`), the fraction of silent Pyr
    cells (``r = 0``, over stimuli and cells) and the mean Pyr and PV rates (Hz).
    ``same_weights``: on the paper's network, both solvers: the median ``h - rho0`` of the
    cells silent in both, and the cosine between the local Pyr -> PV updates (Eq 8b) per
    stimulus (``cos_IE``, host array over ``stim``; default every 8th stimulus).
    """
    from .dynamics import authors_steady_state
    from .network import build_network
    from .plasticity import local_updates

    nets = {"paper": build_network(p, seed), "authors": build_network(p, seed, authors=True)}
    S = nets["paper"].S
    stim = host.arange(0, S, 8) if stim is None else host.asarray(stim)
    out: dict[str, Any] = {"networks": {}}
    hs = {}
    for name, net in nets.items():
        if name == "paper":
            h = to_numpy(response_sweep(net, stim, tol=0.005).h)[0]
        else:
            hh, ok, _ = authors_steady_state(net.full_matrix(), net.drive(net.xp.asarray(stim)),
                                             net.tau(), net.NE, rho0=rho0, h_I0=float(net.I_I))
            h = to_numpy(hh)[0]
        rE, rI = host.maximum(h[:, : net.NE], 0), host.maximum(h[:, net.NE :], 0)
        out["networks"][name] = dict(silent=float((rE == 0).mean()), rate_E=float(rE.mean()),
                                     rate_I=float(rI.mean()))
    net = nets["paper"]
    xp = net.xp
    hs["paper"] = to_numpy(response_sweep(net, stim, tol=0.005).h)[0]
    hh, _, _ = authors_steady_state(net.full_matrix(), net.drive(xp.asarray(stim)), net.tau(),
                                    net.NE, rho0=rho0, h_I0=float(net.I_I))
    hs["authors"] = to_numpy(hh)[0]
    silent = (hs["paper"][:, : net.NE] <= 0) & (hs["authors"][:, : net.NE] <= 0)
    cos = []
    for k in range(len(stim)):
        A = [to_numpy(local_updates(net, xp.asarray(hs[m][k : k + 1]), rho0)[1])[0].ravel()
             for m in ("paper", "authors")]
        cos.append(float(A[0] @ A[1] / (host.linalg.norm(A[0]) * host.linalg.norm(A[1]))))
    out["same_weights"] = dict(
        silent_error_paper=float(host.median(hs["paper"][:, : net.NE][silent] - rho0)),
        silent_error_authors=float(host.median(hs["authors"][:, : net.NE][silent] - rho0)),
        cos_IE=host.asarray(cos))
    return out
