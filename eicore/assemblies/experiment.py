"""Training loop, response sweeps, knock-outs, perturbations and a cache of trained runs.

Mackwood et al. (2021): training protocol (Materials and methods, "Synaptic plasticity"),
knock-outs (Figs 2-3), perturbations (Fig 4). Chapters ``03_fig1`` onwards call
:func:`trained_conditions`, which trains plastic, output-KO and input-KO networks as
**one batch** (knock-outs are zeros in per-network learning-rate vectors) and caches the
result on disk so that chapters share it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..backend import HostRNG, get_xp, host, to_numpy
from ..errors import ConfigurationError
from .dynamics import cold_start, steady_state
from .network import Network, build_network, stack_networks
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
    "TrainingHistory",
    "learning_rates",
    "perturbation_experiment",
    "perturbation_influence",
    "response_sweep",
    "train",
    "trained_conditions",
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
    rE = xp.maximum(h[..., : net.NE], 0.0)
    rI = xp.maximum(h[..., net.NE :], 0.0)
    exc = xp.matmul(rE, xp.matrix_transpose(net.W_EE)) + b[..., : net.NE]
    inh = xp.matmul(rI, xp.matrix_transpose(net.W_EI))
    return Sweep(*(to_numpy(a) for a in (h, rE, rI, exc, inh)), steps=n)


@dataclass
class TrainingHistory:
    """What :func:`train` records (host arrays).

    ``loss (B, trials)``: mean over stimuli of ``1/2 sum_j (h_E_j - rho0)^2`` during each
    trial; ``angle_IE``, ``angle_EI (B, trials*S)``: Eq 7 angles (degrees) between the
    local update and the gradient, per presentation (empty unless requested, NaN where
    skipped);
    ``steps (trials*S,)``: solver steps per presentation; ``seconds``: wall time,
    ``cpu_seconds``: CPU time of this process (robust to other jobs on the machine).
    """

    loss: Any
    angle_IE: Any
    angle_EI: Any
    steps: Any
    seconds: float
    meta: dict = field(default_factory=dict)
    cpu_seconds: float = float("nan")


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
    seed: int = 0,
    progress: bool = False,
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
    learning). Returns the trained copy and a :class:`TrainingHistory`.
    """
    if rule not in ("local", "gradient"):
        raise ConfigurationError(f"unknown rule {rule!r}; use 'local' or 'gradient'")
    net = net.copy()
    xp = net.xp
    B, S, NE = net.B, net.S, net.NE
    eta_E = xp.asarray(eta_E, dtype=net.V_IE.dtype)
    eta_I = xp.asarray(eta_I, dtype=net.V_IE.dtype)
    if eta_E.shape != (B,) or eta_I.shape != (B,):
        raise ConfigurationError(f"eta_E and eta_I need one value per network (B={B})")
    order_rng = HostRNG(seed).generator
    tau = net.tau()
    b_all = net.drive()
    M = net.full_matrix()
    H, _ = steady_state(M, b_all, cold_start(B, S, NE, net.NI, xp, M.dtype), tau, dt=dt, tol=tol)
    LAM = xp.zeros_like(H) if (rule == "gradient" or angle) else None
    opt = Adam(net, eta_E, eta_I, **(adam or {})) if rule == "gradient" else None
    loss = host.zeros((B, trials))
    n_pres = trials * S
    ang_IE = host.full((B, n_pres if angle else 0), host.nan, dtype=host.float32)
    ang_EI = host.full((B, n_pres if angle else 0), host.nan, dtype=host.float32)
    steps = host.zeros(n_pres, dtype=host.int32)
    it = range(trials)
    if progress:
        from ..progress import tqdm

        it = tqdm(it, desc=f"training ({rule}, B={B})")
    t0, c0 = time.perf_counter(), time.process_time()
    k = 0
    for t in it:
        acc = xp.zeros((B,), dtype=M.dtype)
        for s in order_rng.permutation(S).tolist():
            h, n = steady_state(M, b_all[s : s + 1, :], H[:, s : s + 1, :], tau, dt=dt, tol=tol)
            H[:, s : s + 1, :] = h
            steps[k] = n
            h = h[:, 0, :]
            e = h[:, :NE] - rho0
            acc = acc + 0.5 * xp.sum(e * e, axis=1)
            want_angle = angle and k % angle_every == 0
            if rule == "gradient" or want_angle:
                G_EI, G_IE, lam = gradient_updates(
                    net, h, rho0, M=M, method="iterative", lam0=LAM[:, s, :], dt=dt
                )
                LAM[:, s, :] = lam
            if rule == "local":
                A_EI, A_IE = local_updates(net, h, rho0)
                if want_angle:
                    ang_IE[:, k] = to_numpy(update_angle(G_IE, A_IE))
                    ang_EI[:, k] = to_numpy(update_angle(G_EI, A_EI))
                apply_local(net, A_EI, A_IE, eta_E, eta_I, decay)
            else:
                opt.step(net, G_EI, G_IE, decay)
            M[:, :NE, NE:] = -net.W_EI
            M[:, NE:, :NE] = net.W_IE
            k += 1
        loss[:, t] = to_numpy(acc) / S
    hist = TrainingHistory(
        loss=loss, angle_IE=ang_IE, angle_EI=ang_EI, steps=steps,
        seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0,
        meta=dict(rule=rule, trials=trials, B=B, eta_E=to_numpy(eta_E).tolist(),
                  eta_I=to_numpy(eta_I).tolist()),
    )
    return net, hist


def perturbation_influence(
    net: Network, cells: Any, stim: Any, *, dI: float = 10.0, tol: float = 0.005,
    dt: float = 20.0, chunk: int = 4,
) -> Any:
    """Influence of +``dI`` Hz on single Pyr cells (Fig 4), host ``(B, P, S', NE)``.

    For each perturbed cell ``n`` in ``cells`` and stimulus in ``stim``, the steady state
    with ``I_n += dI`` is solved (warm-started from the unperturbed one, batched over
    stimuli and ``chunk`` perturbed cells at a time); influence on cell ``j`` is
    ``(r_j^pert - r_j) / dI`` (the perturbed cell's own entry included).
    """
    xp = net.xp
    stim_a = xp.asarray(stim)
    cells = [int(c) for c in to_numpy(cells).tolist()]
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


# --------------------------------------------------------------------------- cache


def _source_hash() -> str:
    h = hashlib.sha256()
    for name in ("network.py", "dynamics.py", "plasticity.py", "experiment.py", "presets.py"):
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    """``$EICORE_CACHE/assemblies`` or ``~/.cache/eicore/assemblies`` (not in the repo)."""
    root = os.environ.get("EICORE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "eicore")
    return Path(root) / "assemblies"


_ARRAYS = [f.name for f in fields(Network) if f.name not in ("I_I", "J_IE", "tau_E", "tau_I")]


def _save(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    try:
        host.savez(tmp, **payload)
        os.replace(tmp, path)  # atomic: concurrent readers see the old or the new file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _net_payload(prefix: str, net: Network) -> dict[str, Any]:
    return {f"{prefix}{k}": to_numpy(getattr(net, k)) for k in _ARRAYS}


def _net_from(prefix: str, data: Any, like: Network, xp: Any) -> Network:
    net = like.copy()
    for k in _ARRAYS:
        setattr(net, k, xp.asarray(data[f"{prefix}{k}"]))
    return net


def trained_conditions(
    rule: str = "local",
    seed: int = 0,
    *,
    conditions: list[str] | None = None,
    scale: str | None = None,
    use_cache: bool = True,
    progress: bool = False,
    xp: Any = None,
) -> dict[str, Any]:
    """Initial and trained networks for several conditions, trained as one batch, cached.

    Returns ``dict(conditions, before, after, history, params, sweep_before, sweep_after,
    cached)`` where ``before`` and ``after`` are batched :class:`Network` s (batch order =
    ``conditions``) and the sweeps their responses to all stimuli (:class:`Sweep`). Defaults:
    plastic, output-KO, input-KO and (local rule only) input-KO with heavy-tailed static
    Pyr -> PV weights. All conditions start from the same network (same seed), except that
    the heavy-tailed variant redraws its Pyr -> PV weights. The result is cached under
    :func:`cache_dir` keyed by rule, seed, presets and the source code of this package;
    writes are atomic, and a lock file makes a concurrent caller wait instead of recomputing.
    """
    from .presets import NETWORK, TRAIN_GRADIENT, TRAIN_LOCAL

    xp = xp or get_xp()
    if rule not in ("local", "gradient"):
        raise ConfigurationError(f"unknown rule {rule!r}; use 'local' or 'gradient'")
    if conditions is None:
        conditions = ["plastic", "output_ko", "input_ko"]
        if rule == "local":
            conditions.append("input_ko_heavy")
    pn = NETWORK.get(scale)
    pt = (TRAIN_LOCAL if rule == "local" else TRAIN_GRADIENT).get(scale)
    key = json.dumps(dict(rule=rule, seed=seed, cond=conditions, net=pn.as_dict(),
                          train=pt.as_dict(), src=_source_hash(),
                          xp=getattr(xp, "__name__", str(xp))), sort_keys=True)
    path = cache_dir() / f"{rule}_{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"
    nets = [build_network(pn, seed, xp=xp, sigma_IE=pn.sigma_heavy if c.endswith("heavy")
                          else None) for c in conditions]
    before = stack_networks(nets)
    lock = path.with_suffix(".lock")
    have_lock = False
    if use_cache:
        res = _load_cached(path, before, conditions, pt, xp)
        if res is not None:
            return res
        # another process (e.g. a notebook run in parallel) may be computing the same run
        have_lock = _acquire(lock)
        if not have_lock:
            res = _wait_for(path, lock, before, conditions, pt, xp)
            if res is not None:
                return res
    try:
        eta_E, eta_I = learning_rates(conditions, pt.eta)
        kw = dict(rule=rule, eta_E=eta_E, eta_I=eta_I, trials=pt.trials, decay=pt.decay,
                  rho0=pn.rho0, tol=pt.tol, dt=pt.dt, seed=seed, progress=progress)
        if rule == "local":
            kw["angle"] = pt.angle
            kw["angle_every"] = pt.angle_every
        else:
            kw["adam"] = dict(beta1=pt.beta1, beta2=pt.beta2, eps=pt.eps)
        after, hist = train(before, **kw)
        sw0, sw1 = response_sweep(before), response_sweep(after)
        if use_cache:
            payload = _net_payload("after.", after)
            payload.update(loss=hist.loss, angle_IE=hist.angle_IE, angle_EI=hist.angle_EI,
                           steps=hist.steps, seconds=host.asarray(hist.seconds),
                           meta=host.asarray(json.dumps(hist.meta)))
            for pre, sw in (("sw0.", sw0), ("sw1.", sw1)):
                payload.update({f"{pre}{k}": getattr(sw, k) for k in _SWEEP})
            try:
                _save(path, payload)
            except OSError:
                pass
    finally:
        if have_lock:
            try:
                os.unlink(lock)
            except OSError:
                pass
    return dict(conditions=conditions, before=before, after=after, history=hist, params=pt,
                sweep_before=sw0, sweep_after=sw1, cached=False)


_SWEEP = ("h", "rE", "rI", "exc", "inh")


def _load_cached(path, before, conditions, pt, xp):
    if not path.exists():
        return None
    try:
        d = host.load(path)
        after = _net_from("after.", d, before, xp)
        hist = TrainingHistory(loss=d["loss"], angle_IE=d["angle_IE"], angle_EI=d["angle_EI"],
                               steps=d["steps"], seconds=float(d["seconds"]),
                               meta=json.loads(str(d["meta"])))
        sws = [Sweep(*(d[f"{pre}{k}"] for k in _SWEEP), steps=0) for pre in ("sw0.", "sw1.")]
    except Exception:  # a corrupt or stale file: recompute
        return None
    return dict(conditions=conditions, before=before, after=after, history=hist, params=pt,
                sweep_before=sws[0], sweep_after=sws[1], cached=True)


def _acquire(lock: Path) -> bool:
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        if lock.exists() and time.time() - lock.stat().st_mtime > 1800:
            lock.unlink()  # stale lock of a killed process
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        os.close(fd)
        return True
    except OSError:
        return False


def _wait_for(path, lock, before, conditions, pt, xp, timeout: float = 1800.0):
    t0 = time.time()
    while lock.exists() and time.time() - t0 < timeout:
        time.sleep(2.0)
    return _load_cached(path, before, conditions, pt, xp)



def perturbation_experiment(seed: int = 0, *, scale: str | None = None, use_cache: bool = True,
                            xp: Any = None) -> dict[str, Any]:
    """Fig 4: perturbations of the networks before learning and after local-rule learning
    (plastic, output-KO, input-KO), batched as ``B = 4``; cached like
    :func:`trained_conditions`.

    Returns ``dict(names, cells, stim, influence (4, P, S', NE), rE (4, S, NE), W_IE
    (4, NI, NE))`` (host arrays): perturbed cells and stimuli are drawn with ``seed``.
    """
    from .presets import NETWORK, PERTURB

    pp = PERTURB.get(scale)
    res = trained_conditions("local", seed, scale=scale, use_cache=use_cache, xp=xp)
    key = json.dumps(dict(seed=seed, p=pp.as_dict(), net=NETWORK.get(scale).as_dict(),
                          src=_source_hash(), train=res["params"].as_dict()), sort_keys=True)
    path = cache_dir() / f"perturb_{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"
    names = ["before", "plastic", "output_ko", "input_ko"]
    if use_cache and path.exists():
        try:
            d = host.load(path)
            return {k: d[k] for k in ("cells", "stim", "influence", "rE", "W_IE")} | {
                "names": names, "cached": True}
        except Exception:
            pass
    g = HostRNG(seed + 1000).generator
    NE, S = res["before"].NE, res["before"].S
    cells = host.sort(g.choice(NE, pp.n_cells, replace=False))
    stim = host.sort(g.choice(S, min(pp.n_stimuli, S), replace=False))
    idx = [res["conditions"].index(c) for c in names[1:]]
    nets = stack_networks([res["before"].select(0), res["after"].select(idx)])
    infl = perturbation_influence(nets, cells, stim, dI=pp.dI, tol=pp.tol)
    rE = host.concat([res["sweep_before"].rE[:1], res["sweep_after"].rE[idx]], axis=0)
    out = dict(cells=cells, stim=stim, influence=infl, rE=rE, W_IE=to_numpy(nets.W_IE))
    if use_cache:
        try:
            _save(path, out)
        except OSError:
            pass
    return out | {"names": names, "cached": False}
