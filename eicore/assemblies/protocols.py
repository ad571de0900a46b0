"""Registered experiments of Part I (Mackwood, Naumann & Sprekeler, eLife 2021).

* ``assemblies.train_local``: plastic, output-KO, input-KO and heavy-tailed input-KO
  networks trained with the local rules (Eq 8), with the angle to the gradient (Eq 7) as a
  diagnostic: Figs 1, 1-S1, 1-S3 to 1-S5, 2, 3 and 3-S2 (chapters ``03_fig1`` to
  ``06_fig3_input_ko``, ``08_summary``);
* ``assemblies.train_gradient``: the same with the gradient rules (Eq 15) and Adam,
  Fig 1-S2 (chapter ``04_fig1_supplements``);
* ``assemblies.perturb``: single-cell perturbations of the networks before and after
  local-rule learning, Figs 4 and 4-S1 (chapter ``07_fig4_perturbation``).

Sweep axes are ``seed`` (independent networks) x ``condition``. The conditions of one
seed start from the same network and are simulated as one batch (knock-outs are zeros in
the per-network learning rates); every network has its own solver step and convergence
test, so a point equals the same point alone or in another batch (bitwise on NumPy; the
tests check it).

Chapters do not call the experiments directly but :func:`trained_conditions` and
:func:`perturbation_experiment`, which run whatever the result store lacks
(:func:`eicore.runs.compute`), rebuild the networks from the stored weights and solve their
responses to all stimuli (one batched solve per condition set, a few seconds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..backend import HostRNG, get_xp, host, to_numpy
from ..errors import ConfigurationError
from ..runs import Context, Experiment, Store, Task, compute, get, register, results_dir
from ..runs.registry import jsonable
from ..runs.seeds import no_seed_offset, seed_offset, seed_values
from .analysis import influence_vs_rf_sums
from .experiment import (
    Sweep,
    Trainer,
    TrainingHistory,
    learning_rates,
    perturbation_influence,
    response_sweep,
)
from .network import Network, build_network, stack_networks
from .presets import NETWORK, PERTURB, TRAIN_GRADIENT, TRAIN_LOCAL

__all__ = [
    "GRADIENT_CONDITIONS",
    "LOCAL_CONDITIONS",
    "PERTURB_NETWORKS",
    "angle_presentations",
    "perturbation_experiment",
    "seed_offset",
    "seed_values",
    "trained_conditions",
]

#: Conditions of the local rules (batch order); the last one is the Fig 3-S2 variant.
LOCAL_CONDITIONS = ["plastic", "output_ko", "input_ko", "input_ko_heavy"]
#: Conditions of the gradient rules (Fig 1-S2).
GRADIENT_CONDITIONS = ["plastic", "output_ko", "input_ko"]
#: Networks of the perturbation experiment: the plastic network before learning and the
#: three local-rule networks after it (Fig 4d).
PERTURB_NETWORKS = ["before", "plastic", "output_ko", "input_ko"]
#: Stimuli of the first perturbed cell kept for the example of Fig 4b.
EXAMPLE_STIMULI = 30
#: Checkpoints per training trial (at most; the context saves every few minutes).
CHUNKS_PER_TRIAL = 12


def _networks(pn: Any, seeds: list[int], conditions: list[str], xp: Any = None,
              authors: bool = False) -> Network:
    """The initial networks of the points, stacked (heavy-tailed Pyr -> PV where asked;
    ``authors``: built as the authors' code does)."""
    return stack_networks([
        build_network(pn, int(s), xp=xp, sigma_IE=pn.sigma_heavy if c.endswith("heavy") else None,
                      authors=authors)
        for s, c in zip(seeds, conditions, strict=True)])


def angle_presentations(p: Any, S: int) -> Any:
    """Presentations whose update angle (Eq 7) is stored: every recorded one in the first
    and last trial, and in between at most about ``10 S`` of them (all of them at ``ci``)."""
    if not getattr(p, "angle", False):
        return host.zeros(0, dtype=host.int64)
    rec = host.arange(0, p.trials * S, p.angle_every, dtype=host.int64)
    stride = max(1, len(rec) // (10 * S))
    trial = rec // S
    keep = (trial == 0) | (trial == p.trials - 1) | (host.arange(len(rec)) % stride == 0)
    return rec[keep]


def _train(task: Task, ctx: Context, rule: str, mode: str = "paper") -> dict[str, Any]:
    """Train the task's networks (one batch); return their weights and learning curves."""
    authors = mode == "authors"
    pt, pn = task.p, task.preset(NETWORK)
    conds, seeds = task.values("condition"), [int(s) for s in task.values("seed")]
    state = ctx.resume()
    if state is None:
        eta_E, eta_I = learning_rates(conds, pt.eta)
        kw = dict(rule=rule, eta_E=eta_E, eta_I=eta_I, trials=pt.trials, decay=pt.decay,
                  rho0=pn.rho0, tol=pt.tol, dt=pt.dt, seed=seeds, mode=mode)
        if rule == "local":
            kw.update(angle=pt.angle, angle_every=pt.angle_every)
        else:
            kw["adam"] = dict(beta1=pt.beta1, beta2=pt.beta2, eps=pt.eps)
        state = dict(trainer=Trainer(_networks(pn, seeds, conds, authors=authors), **kw),
                     done=0)
    tr = state["trainer"]
    bar = ctx.progress(tr.total, "presentations", done=state["done"])
    chunk = max(1, tr.net.S // CHUNKS_PER_TRIAL)
    while not tr.done:
        n = tr.advance(chunk)
        state["done"] += n
        bar.update(n)
        ctx.checkpoint(state)
    bar.close()
    before = _networks(pn, seeds, conds, authors=authors)  # deterministic: rebuilt
    after, hist = tr.net, tr.history()
    T, S = pt.trials, tr.net.S
    out = dict(
        W_EI_before=before.W_EI, W_IE_before=before.W_IE,
        W_EI=after.W_EI, W_IE=after.W_IE, V_EI=after.V_EI, V_IE=after.V_IE, loss=hist.loss,
        solver_steps=host.broadcast_to(hist.steps.reshape(T, S).mean(axis=1),
                                       (len(conds), T)),
    )
    if rule == "local" and pt.angle:
        keep = angle_presentations(pt, S)
        out.update(
            presentation=keep, angle_IE=hist.angle_IE[:, keep], angle_EI=hist.angle_EI[:, keep],
            angle_IE_median=host.nanmedian(hist.angle_IE.reshape(len(conds), T, S), axis=2),
            angle_EI_median=host.nanmedian(hist.angle_EI.reshape(len(conds), T, S), axis=2),
        )
    return {k: host.ascontiguousarray(to_numpy(v)) for k, v in out.items()}


def run_train_local(task: Task, ctx: Context) -> dict[str, Any]:
    """Local rules (Eq 8, plain steps, PV input normalisation), Figs 1-3 and 3-S2.

    Stores per point the Pyr <-> PV weights before and after learning (``V``: the
    parameters of the plastic weights after learning), the loss per trial, the update angles
    to the gradient (Eq 7) at :func:`angle_presentations` and their median per trial
    (about 4 MB per task at both scales). Responses to all stimuli are not stored: they
    follow from the weights in one batched solve (:func:`trained_conditions`). Checkpoints
    after every twelfth of a trial.
    """
    return _train(task, ctx, "local")


def run_train_gradient(task: Task, ctx: Context) -> dict[str, Any]:
    """Gradient rules (Eq 15) with Adam, Fig 1-S2; stores what :func:`run_train_local` does
    except the angles."""
    return _train(task, ctx, "gradient")


_TRAIN_DIMS = dict(
    W_EI_before=("pyr", "pv"), W_IE_before=("pv", "pyr"), W_EI=("pyr", "pv"),
    W_IE=("pv", "pyr"), V_EI=("pyr", "pv"), V_IE=("pv", "pyr"),
    loss=("trial",),
    solver_steps=("trial",), presentation=("presentation",), angle_IE=("presentation",),
    angle_EI=("presentation",), angle_IE_median=("trial",), angle_EI_median=("trial",),
)

TRAIN_LOCAL_EXPERIMENT = register(Experiment(
    name="assemblies.train_local",
    run=run_train_local,
    presets=(TRAIN_LOCAL, NETWORK),
    axes=lambda p: dict(seed=seed_values(p.seeds), condition=list(LOCAL_CONDITIONS)),
    batch=4,
    dims=_TRAIN_DIMS,
    coords=("presentation",),
    doc="Figs 1-3, 3-S2: plastic, output-KO, input-KO, heavy-tailed input-KO; local rules",
))

def run_train_authors(task: Task, ctx: Context) -> dict[str, Any]:
    """The local rules in the authors'-code mode (``train(..., mode="authors")``, networks built
    with ``authors=True``): the Fig 1g angle over training next to the paper's mode
    (chapter ``01_model``). Stores what :func:`run_train_local` does."""
    return _train(task, ctx, "local", mode="authors")


TRAIN_AUTHORS_EXPERIMENT = register(Experiment(
    name="assemblies.train_authors",
    run=run_train_authors,
    presets=(TRAIN_LOCAL, NETWORK),
    axes=lambda p: dict(seed=seed_values(p.seeds), condition=["plastic"]),
    batch=4,
    dims=_TRAIN_DIMS,
    coords=("presentation",),
    doc="Fig 1g in the authors'-code mode: plastic networks, local rules",
))


TRAIN_GRADIENT_EXPERIMENT = register(Experiment(
    name="assemblies.train_gradient",
    run=run_train_gradient,
    presets=(TRAIN_GRADIENT, NETWORK),
    axes=lambda p: dict(seed=seed_values(p.seeds), condition=list(GRADIENT_CONDITIONS)),
    batch=3,
    dims=_TRAIN_DIMS,
    doc="Fig 1-S2: plastic, output-KO, input-KO; gradient rules with Adam",
))


# ----------------------------------------------------------------------- loading


def _params_of(task_params: dict, exp: Experiment, scale: str) -> bool:
    """True if ``task_params`` are the registered values of ``exp`` at ``scale``."""
    mine = {}
    for name, prm in task_params.items():
        d = prm.as_dict()
        d.pop("scale", None)
        mine[name] = jsonable(d)
    return mine == exp.param_values(scale)


def _rebuild(arrays: dict[str, Any], conds: list[str], seed: int, pn: Any, rule: str,
             pt: Any, xp: Any = None, seconds: float = float("nan")) -> dict[str, Any]:
    """Networks, response sweeps and history of one seed from its stored arrays (leading
    axis: ``conds``). The sweeps are solved here, for all ``conds`` as one batch (as
    the chapters always load every condition of a seed, they see the same numbers)."""
    xp = xp or get_xp()
    before = _networks(pn, [seed] * len(conds), conds, xp=xp)
    after = before.copy()
    for k in ("W_EI", "W_IE", "V_EI", "V_IE"):
        setattr(after, k, xp.asarray(arrays[k], dtype=getattr(before, k).dtype))
    angle = "angle_IE" in arrays
    hist = TrainingHistory(
        loss=arrays["loss"], steps=arrays["solver_steps"], seconds=seconds,
        angle_IE=arrays["angle_IE"] if angle else host.zeros((len(conds), 0)),
        angle_EI=arrays["angle_EI"] if angle else host.zeros((len(conds), 0)),
        presentation=arrays.get("presentation"),
        angle_IE_median=arrays.get("angle_IE_median"),
        angle_EI_median=arrays.get("angle_EI_median"),
        meta=dict(rule=rule, trials=pt.trials, B=len(conds), seed=seed),
    )
    return dict(conditions=list(conds), before=before, after=after, history=hist, params=pt,
                sweep_before=response_sweep(before), sweep_after=response_sweep(after))


def _load_stored(exp, scale, only, seed: int, store) -> tuple[Any, Store]:
    """The committed results of ``only`` (their own seeds, whatever EICORE_SEED_OFFSET
    says) and the store they are in (default: the book's); missing ones raise an error
    naming the ``eicore run`` command that makes them."""
    st = store if isinstance(store, Store) else Store(store or results_dir())
    with no_seed_offset():
        if st.status(exp, scale, points=exp.points(scale, only)).missing:
            raise ConfigurationError(
                f"{exp.name} [{scale}] seed {seed} is not in {st.root}: run `eicore run "
                f"{exp.name} --scale {scale} --seeds {seed} --store {st.root}`")
        return st.load(exp, scale, only=only), st


def trained_conditions(rule: str = "local", seed: int | None = None, *,
                       conditions: list[str] | None = None, scale: str | None = None,
                       store: Store | str | None = None, stored: bool = False,
                       same_code: bool = True, xp: Any = None) -> dict[str, Any]:
    """Initial and trained networks of one seed (default: the first of the sweep,
    :func:`seed_offset`; with ``stored``, seed 0) (``assemblies.train_local`` or
    ``assemblies.train_gradient``), from the result store; missing results are computed
    first (all conditions of the seed as one batch). With ``stored=True`` nothing is
    trained: the results are only loaded (default store: the book's committed results,
    :func:`eicore.runs.results_dir`), and missing ones raise an error naming the
    ``eicore run`` command that makes them (the chapters' paper-scale sections). With
    ``same_code=False``, stored runs made by other source code of the part are used, not
    recomputed (as ``eicore run`` treats them; :class:`~eicore.runs.Context`).

    Returns ``dict(conditions, before, after, history, params, sweep_before, sweep_after,
    dataset)``: ``before``/``after`` are batched :class:`Network` s in the order of
    ``conditions`` (default: every condition of the experiment), the sweeps their
    responses to all stimuli (:class:`~eicore.assemblies.experiment.Sweep`, solved for every
    condition of the seed as one batch, then selected), ``history`` a
    :class:`~eicore.assemblies.experiment.TrainingHistory` of the stored curves (``seconds``:
    wall time of the stored run) and ``dataset`` the stored results (xarray).
    """
    name = f"assemblies.train_{rule}"
    exp = get(name)
    seed = (0 if stored else seed_offset()) if seed is None else int(seed)
    only = {"seed": [seed]}
    if conditions is not None:
        only["condition"] = [str(c) for c in conditions]
    if stored:
        ds, _ = _load_stored(exp, scale, only, seed, store)
    else:
        ds = compute(name, scale, store=store, only={"seed": [seed]}, same_code=same_code)
    ds = ds.sel(seed=seed)
    conds = [str(c) for c in ds.condition.values]
    arrays = {k: ds[k].values for k in ds.data_vars}
    if "presentation" in ds.coords:
        arrays["presentation"] = ds.presentation.values
    params = exp.params(scale)
    out = _rebuild(arrays, conds, seed, params[NETWORK.name], rule,
                   params[exp.presets[0].name], xp=xp,
                   seconds=float(ds.attrs.get("wall_seconds", float("nan"))))
    if conditions is not None and conds != [str(c) for c in conditions]:
        out = _select(out, [conds.index(str(c)) for c in conditions])
        ds = ds.sel(condition=list(conditions))
    out["dataset"] = ds
    return out


def _select(res: dict[str, Any], idx: list[int]) -> dict[str, Any]:
    """The conditions ``idx`` of a :func:`trained_conditions` result."""
    h = res["history"]
    pick = {k: None if getattr(h, k) is None or k == "presentation" else getattr(h, k)[idx]
            for k in ("loss", "steps", "angle_IE", "angle_EI", "angle_IE_median",
                      "angle_EI_median")}
    hist = TrainingHistory(**{k: v for k, v in pick.items()}, seconds=h.seconds,
                           meta=dict(h.meta, B=len(idx)), presentation=h.presentation)
    sw = {k: Sweep(**{f: (getattr(s, f) if f == "steps" else getattr(s, f)[idx])
                      for f in ("h", "rE", "rI", "exc", "inh", "steps")})
          for k, s in (("sweep_before", res["sweep_before"]), ("sweep_after", res["sweep_after"]))}
    return dict(res, conditions=[res["conditions"][i] for i in idx],
                before=res["before"].select(idx), after=res["after"].select(idx),
                history=hist, **sw)


# ----------------------------------------------------------------------- perturbations


def _store_for(ctx: Context) -> Store:
    """The store this task's results go to: the context's, else the one its checkpoint
    lies in (``<root>/<experiment>/<scale>/<task>.ckpt``), else the default store."""
    st = getattr(ctx, "store", None)
    if st is not None:
        return st if isinstance(st, Store) else Store(st)
    path = getattr(ctx, "path", None)
    if path is not None and Path(path).parent.parent.name == "assemblies.perturb":
        return Store(Path(path).parents[2])
    return Store()


def _local_networks(task: Task, ctx: Context, seed: int) -> dict[str, Any]:
    """The local-rule networks of ``seed``: from the store when the task uses the registered
    parameters (trained there if missing; stored runs of other source code are kept or
    recomputed by the rule of the run that holds the task, ``ctx.same_code``), else
    trained here with the task's parameters (e.g. shrunken networks in tests),
    deterministically."""
    params = {TRAIN_LOCAL.name: task.preset(TRAIN_LOCAL), NETWORK.name: task.preset(NETWORK)}
    if _params_of(params, TRAIN_LOCAL_EXPERIMENT, task.scale):
        return trained_conditions("local", seed, scale=task.scale, store=_store_for(ctx),
                                  same_code=getattr(ctx, "same_code", True))
    t = Task(TRAIN_LOCAL_EXPERIMENT.name, task.scale,
             tuple({"seed": seed, "condition": c} for c in LOCAL_CONDITIONS), params)
    arrays = run_train_local(t, Context(None))
    return _rebuild(arrays, list(LOCAL_CONDITIONS), seed, params[NETWORK.name], "local",
                    params[TRAIN_LOCAL.name])


def run_perturb(task: Task, ctx: Context) -> dict[str, Any]:
    """Fig 4: +``dI`` Hz to single Pyr cells of the networks before and after learning.

    The trained networks come from ``assemblies.train_local`` in the same store (trained
    first if missing). Perturbed cells and stimuli are drawn from ``seed + 1000``. Stores
    per network the influence averaged over stimuli ``(cell, pyr)``, the influence of the
    first perturbed cell on the first stimuli (Fig 4b), and influence vs RF correlation
    (Fig 4d: bin centres, means, SEMs, counts over all stimuli; slope and r of the
    stimulus-averaged influence). Checkpoints after every few perturbed cells.
    """
    pp = task.p
    seeds = sorted({int(s) for s in task.values("seed")})
    if len(seeds) != 1:
        raise ValueError("assemblies.perturb: a task holds one seed (separate=('seed',))")
    seed = seeds[0]
    names = task.values("condition")
    state = ctx.resume()
    if state is None:
        tr = _local_networks(task, ctx, seed)
        conds = tr["conditions"]
        pick, rE = [], []
        for n in names:
            if n == "before":
                pick.append(tr["before"].select(conds.index("plastic")))
                rE.append(tr["sweep_before"].rE[conds.index("plastic")])
            else:
                pick.append(tr["after"].select(conds.index(n)))
                rE.append(tr["sweep_after"].rE[conds.index(n)])
        nets = stack_networks(pick)
        g = HostRNG(seed + 1000).generator
        NE, S = nets.NE, nets.S
        cells = host.sort(g.choice(NE, pp.n_cells, replace=False))
        stim = host.sort(g.choice(S, min(pp.n_stimuli, S), replace=False))
        B, P, n_ex = nets.B, len(cells), min(EXAMPLE_STIMULI, len(stim))
        state = dict(
            nets=nets, rE=host.stack(rE), cells=cells, stim=stim,
            base=response_sweep(nets, stim, tol=pp.tol),
            mean=host.zeros((B, P, NE), dtype=host.float32),
            sum1=host.zeros((B, P, NE)), sum2=host.zeros((B, P, NE)),
            example=host.zeros((B, n_ex, NE), dtype=host.float32), done=0,
        )
    nets, cells, stim = state["nets"], state["cells"], state["stim"]
    P = len(cells)
    bar = ctx.progress(P, "perturbed cells", done=state["done"])
    chunk = 4
    while state["done"] < P:
        c0 = state["done"]
        cc = cells[c0 : c0 + chunk]
        infl = perturbation_influence(nets, cc, stim, dI=pp.dI, tol=pp.tol, chunk=chunk,
                                      base=state["base"])  # (B, c, S', NE)
        state["mean"][:, c0 : c0 + len(cc)] = infl.mean(axis=2)
        state["sum1"][:, c0 : c0 + len(cc)] = infl.sum(axis=2, dtype=host.float64)
        state["sum2"][:, c0 : c0 + len(cc)] = (infl.astype(host.float64) ** 2).sum(axis=2)
        if c0 == 0:
            state["example"][:] = infl[:, 0, : state["example"].shape[1]]
        state["done"] += len(cc)
        bar.update(len(cc))
        ctx.checkpoint(state)
    bar.close()
    B = nets.B
    curves = [influence_vs_rf_sums(state["mean"][b], state["sum1"][b], state["sum2"][b],
                                   len(stim), cells, state["rE"][b]) for b in range(B)]
    return dict(
        cells=host.broadcast_to(cells, (B, P)).copy(),
        stim=host.broadcast_to(stim, (B, len(stim))).copy(),
        influence_mean=state["mean"], influence_example=state["example"],
        rf_centres=host.stack([c["centres"] for c in curves]),
        rf_mean=host.stack([c["mean"] for c in curves]),
        rf_sem=host.stack([c["sem"] for c in curves]),
        rf_count=host.stack([c["count"] for c in curves]),
        rf_slope=host.asarray([c["slope"] for c in curves]),
        rf_r=host.asarray([c["r"] for c in curves]),
    )


PERTURB_EXPERIMENT = register(Experiment(
    name="assemblies.perturb",
    run=run_perturb,
    presets=(PERTURB, TRAIN_LOCAL, NETWORK),
    axes=lambda p: dict(seed=seed_values(p.seeds), condition=list(PERTURB_NETWORKS)),
    batch=4,
    separate=("seed",),
    dims=dict(cells=("cell",), stim=("perturbed_stimulus",), influence_mean=("cell", "pyr"),
              influence_example=("example_stimulus", "pyr"), rf_centres=("bin",),
              rf_mean=("bin",), rf_sem=("bin",), rf_count=("bin",)),
    doc="Fig 4, 4-S1: single-cell perturbations before and after local-rule learning",
))


def perturbation_experiment(seed: int | None = None, *, scale: str | None = None,
                            store: Store | str | None = None, stored: bool = False,
                            xp: Any = None) -> dict[str, Any]:
    """Fig 4 results of one seed (default: the first of the sweep, :func:`seed_offset`;
    with ``stored``, seed 0) from the store (``assemblies.perturb``, computed if missing),
    with the responses and weights of the perturbed networks from ``assemblies.train_local``.
    With ``stored=True`` nothing is computed: the results are only loaded (default store:
    the book's committed results, :func:`eicore.runs.results_dir`), and missing ones raise
    an error naming the ``eicore run`` command that makes them (the chapters' paper-scale
    sections).

    Returns ``dict(names, cells, stim, influence_mean (4, P, NE), influence_example
    (4, S'', NE), curves {name: dict(centres, mean, sem, count, slope, r)}, rE (4, S, NE),
    W_IE (4, NI, NE), dataset)`` (host arrays; network order ``names``).
    """
    seed = (0 if stored else seed_offset()) if seed is None else int(seed)
    name = PERTURB_EXPERIMENT.name
    if stored:
        ds, store = _load_stored(PERTURB_EXPERIMENT, scale, {"seed": [seed]}, seed, store)
    else:
        ds = compute(name, scale, store=store, only={"seed": [seed]})
    ds = ds.sel(seed=seed)
    names = [str(n) for n in ds.condition.values]
    tr = trained_conditions("local", seed, scale=scale, store=store, stored=stored, xp=xp)
    conds = tr["conditions"]
    rE, W_IE = [], []
    for n in names:
        if n == "before":
            b = conds.index("plastic")
            rE.append(tr["sweep_before"].rE[b])
            W_IE.append(to_numpy(tr["before"].W_IE)[b])
        else:
            b = conds.index(n)
            rE.append(tr["sweep_after"].rE[b])
            W_IE.append(to_numpy(tr["after"].W_IE)[b])
    curves = {n: dict(centres=ds.rf_centres.values[k], mean=ds.rf_mean.values[k],
                      sem=ds.rf_sem.values[k], count=ds.rf_count.values[k],
                      slope=float(ds.rf_slope.values[k]), r=float(ds.rf_r.values[k]))
              for k, n in enumerate(names)}
    return dict(names=names, cells=ds.cells.values[0].astype(int),
                stim=ds.stim.values[0].astype(int), influence_mean=ds.influence_mean.values,
                influence_example=ds.influence_example.values, curves=curves,
                rE=host.stack(rE), W_IE=host.stack(W_IE), dataset=ds)

