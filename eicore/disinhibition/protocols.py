"""Registered experiments of Part III (Rossbroich & Zenke 2023; see :mod:`eicore.runs`).

* ``disinhibition.table1``: Table 1, test accuracy of BP and of dis-inhibitory control
  (chapter ``06_table1``), one point per data set x depth x rule variant x seed;
* ``disinhibition.fig4_student_teacher``: Fig 4, online student-teacher learning
  (chapter ``05_fig4_student_teacher``);
* ``disinhibition.alignment``: cosine of the local updates with the true open-loop
  gradient, at initialisation and after training (chapter ``02_derivation``).

The single-unit curves of Fig 3, S1 and S2 (chapters 3 and 4) take milliseconds and are
computed in their chapters.
"""

from __future__ import annotations

import dataclasses
import functools
import time

from ..backend import get_xp, host, to_numpy
from ..runs.registry import Experiment, Task, register
from ..runs.seeds import seed_offset, seed_values
from .dynamics import closed_loop_steady_state, open_loop_steady_state
from .feedback import feedback_weights
from .learning import cosine, lin_thresh_point, local_gradients, open_loop_gradient
from .network import MicrocircuitConfig, soft_targets
from .presets import ALIGNMENT, FIG4, TABLE1
from .student_teacher import StudentTeacher, StudentTeacherConfig
from .training import LOSS_NAMES, Fit, Trainer, digits_784, load_dataset

__all__ = [
    "ALIGNMENT_VARIANTS",
    "FIG4_RULES",
    "TABLE1_VARIANTS",
    "TABLE1_WIDTH",
    "alignment",
    "seed_offset",
    "seed_values",
]


# ====================================================================== Table 1

#: Table 1 variants: name -> (training rule, batch-averaged Jacobian as feedback weights).
TABLE1_VARIANTS = {
    "bp": ("bp", False),
    "exact-inv": ("exact-inv", False),
    "lin-thresh": ("lin-thresh", False),
    "exact-inv-avg": ("exact-inv", True),
    "lin-thresh-avg": ("lin-thresh", True),
}
#: Width of every hidden layer in Table 1 (1x256 and 3x256 networks).
TABLE1_WIDTH = 256
#: Training steps between two checkpoint opportunities of a Table 1 task.
TABLE1_CHUNK = 20


@functools.lru_cache(maxsize=2)
def _host_dataset(name: str):
    """A data set as host arrays, loaded once per process."""
    return tuple(to_numpy(a) for a in load_dataset(name, xp=host))


def _dataset(name: str, xp):
    from ..backend import asarray

    return tuple(asarray(a, xp=xp) for a in _host_dataset(name))


def run_table1(task: Task, ctx) -> dict:
    """Train the networks of one Table 1 task (Rossbroich & Zenke 2023, Table 1; chapter
    ``06_table1``): one data set, depth and rule variant; one network per seed.

    Each seed ``s`` starts from ``init_params(..., seed=s)`` and sees the training set in
    the order of ``numpy.random.default_rng(s)``, reshuffled every epoch; the open-loop
    test accuracy is measured after every epoch. Several seeds in one task are trained as
    one stack of networks (``n_networks``), each with its own data order; the stack equals
    separate runs up to float rounding and the fixed-point solvers' tolerances (their
    convergence test spans the stack), not bitwise. A task of one seed is exactly
    :func:`~eicore.disinhibition.fit`. The state (weights, Adam, data order and position in
    the epoch, partial curves) is offered for a checkpoint every ``TABLE1_CHUNK`` steps and
    saved at least after every epoch.
    """
    p = task.p
    (dataset,) = set(task.values("dataset"))
    (hidden,) = set(task.values("hidden"))
    (variant,) = set(task.values("variant"))
    seeds = [int(s) for s in task.values("seed")]
    xp = get_xp()
    data = _dataset(dataset, xp)
    state = ctx.resume()
    if state is None:
        rule, avg = TABLE1_VARIANTS[variant]
        sizes = [int(data[0].shape[1])] + [TABLE1_WIDTH] * int(hidden) + [10]
        if len(seeds) == 1:
            tr = Trainer.create(sizes, rule=rule, seed=seeds[0], xp=xp, average=avg, lr=p.lr)
            order = seeds[0]
        else:
            tr = Trainer.create(sizes, rule=rule, seed=seeds, xp=xp, average=avg, lr=p.lr,
                                n_networks=len(seeds))
            order = seeds
        state = dict(fit=Fit(tr, data[0].shape[0], epochs=p.epochs, batch=p.batch, seed=order),
                     wall=0.0)
    fit = state["fit"]
    bar = ctx.progress(fit.total_steps, "steps", done=fit.steps)
    while not fit.done:
        t0, epoch = time.perf_counter(), fit.epoch
        n = fit.advance(*data, max_steps=TABLE1_CHUNK)
        state["wall"] += time.perf_counter() - t0
        bar.update(n)
        ctx.checkpoint(state, force=fit.epoch > epoch)  # at least after every epoch
    bar.close()
    P = len(seeds)
    acc = host.asarray(fit.hist["test_accuracy"], dtype=float).reshape(p.epochs, P).T
    loss = {k: host.asarray(fit.hist[f"train_{k}"], dtype=float).reshape(p.epochs, P).T
            for k in LOSS_NAMES}
    return dict(
        test_accuracy=acc,
        train_loss_open_loop=loss["loss_open_loop"],
        train_loss_closed_loop=loss["loss_closed_loop"],
        final_accuracy=acc[:, -1].copy(),
        wall_seconds=host.full(P, state["wall"] / P),
        epoch=host.arange(1, p.epochs + 1),
    )


TABLE1_EXPERIMENT = register(Experiment(
    name="disinhibition.table1",
    run=run_table1,
    presets=(TABLE1,),
    axes=lambda p: dict(dataset=list(p.datasets), hidden=list(p.hidden),
                        variant=list(p.variants), seed=seed_values(p.seeds)),
    batch=1,
    separate=("dataset", "hidden", "variant"),
    dims=dict(test_accuracy=("epoch",), train_loss_open_loop=("epoch",),
              train_loss_closed_loop=("epoch",), epoch=("epoch",)),
    coords=("epoch",),
    doc="Table 1: open-loop test accuracy per epoch of BP and dis-inhibitory control",
))

# ====================================================================== Fig 4

#: The two students of Fig 4, in the order of the stored ``rule`` axis.
FIG4_RULES = ("exact", "approx")
#: Time step (s) of the stored output traces (the solver's steps, interpolated).
FIG4_TRACE_DT = 1e-3
#: Model constants of Fig 4 (the authors' notebook).
FIG4_CONFIG = StudentTeacherConfig()


def _resampled_traces(st: StudentTeacher) -> dict:
    """Output traces of the students over one epoch (open loop, then control on), linearly
    interpolated from the solver's steps onto a 1-ms grid; ``(time, seed, rule, output)``."""
    tr = st.traces()
    n_st, n_r = st.n_students, len(st.rules)
    grid = host.arange(0.0, st.cfg.epoch_T + 0.5 * FIG4_TRACE_DT, FIG4_TRACE_DT)
    out = {}
    for key in ("y", "y_star"):
        a = tr[key][:, :n_st, :]
        flat = a.reshape(len(a), -1)
        res = host.stack([host.interp(grid, tr["t"], flat[:, j]) for j in range(flat.shape[1])],
                         axis=1)
        out[key] = res.reshape(len(grid), n_st // n_r, n_r, a.shape[-1]).transpose(1, 0, 2, 3)
    return out


def run_fig4(task: Task, ctx) -> dict:
    """Fig 4 of Rossbroich & Zenke (2023): a teacher and two students (exact and approx =
    lin-thresh rules, same initial weights) learning online (chapter
    ``05_fig4_student_teacher``). ``burn_in`` epochs learn only the feedback weights,
    then ``epochs`` 5-s training epochs; per epoch the time-averaged open-loop and
    closed-loop MSE and the least-control loss ``H``. Output traces over one epoch
    before and after learning. One point per seed (its own teacher, input and initial
    weights); the seeds of a task are simulated as one batch (:class:`StudentTeacher` with
    a sequence of seeds), which agrees with separate runs to the ODE solver's tolerance.
    Checkpoints after every epoch.
    """
    p = task.p
    xp = get_xp()
    seeds = [int(s) for s in task.values("seed")]
    state = ctx.resume()
    if state is None:
        cfg = dataclasses.replace(FIG4_CONFIG, epoch_T=float(p.epoch_T))
        st = StudentTeacher(cfg, rules=FIG4_RULES, seed=seeds, xp=xp)
        state = dict(st=st, burn=0, before=None, done=0, wall=0.0)
    st = state["st"]
    bar = ctx.progress(p.burn_in + p.epochs, "epochs", done=state["done"])
    while state["burn"] < p.burn_in or len(st.history["OL"]) < p.epochs:
        t0 = time.perf_counter()
        if state["burn"] < p.burn_in:
            st.burn_in(1)
            state["burn"] += 1
        else:
            if state["before"] is None:
                state["before"] = _resampled_traces(st)
            st.train_epoch()
        state["wall"] += time.perf_counter() - t0
        state["done"] += 1
        bar.update(1)
        ctx.checkpoint(state, force=True)  # after every epoch (a few kB)
    bar.close()
    if state["before"] is None:  # no training epochs
        state["before"] = _resampled_traces(st)
    after = _resampled_traces(st)
    h = st.history
    P, R = len(seeds), len(FIG4_RULES)
    curve = lambda key: host.asarray(h[key], dtype=float).reshape(p.epochs, P, R).transpose(1, 0, 2)
    return dict(
        OL=curve("OL"), CL=curve("CL"), H=curve("H"),
        n_steps=host.broadcast_to(host.asarray(h["n_steps"], dtype=float), (P, p.epochs)).copy(),
        y_before=state["before"]["y"], y_star_before=state["before"]["y_star"],
        y_after=after["y"], y_star_after=after["y_star"],
        sim_seconds=host.full(P, float(st.t)), wall_seconds=host.full(P, state["wall"] / P),
        rule=host.asarray(FIG4_RULES),
        trace_t=host.arange(0.0, st.cfg.epoch_T + 0.5 * FIG4_TRACE_DT, FIG4_TRACE_DT),
    )


FIG4_EXPERIMENT = register(Experiment(
    name="disinhibition.fig4_student_teacher",
    run=run_fig4,
    presets=(FIG4,),
    axes=lambda p: dict(seed=seed_values(p.seeds)),
    batch=5,
    dims=dict(OL=("epoch", "rule"), CL=("epoch", "rule"), H=("epoch", "rule"),
              n_steps=("epoch",), y_before=("trace_t", "rule", "output"),
              y_star_before=("trace_t", "rule", "output"),
              y_after=("trace_t", "rule", "output"), y_star_after=("trace_t", "rule", "output"),
              rule=("rule",), trace_t=("trace_t",)),
    coords=("rule", "trace_t"),
    doc="Fig 4: online student-teacher learning (exact and lin-thresh students)",
))

# ====================================================================== alignment

#: Alignment variants: name -> (rule, batch-averaged Jacobian, linearisation point y0
#: (None: the batch-mean open-loop inhibitory rate)).
ALIGNMENT_VARIANTS = {
    "exact-inv": ("exact-inv", False, None),
    "lin-thresh": ("lin-thresh", False, None),
    "exact-inv, avg. Jacobian": ("exact-inv", True, None),
    "lin-thresh, y0 = 0.8": ("lin-thresh", False, 0.8),
}


def alignment(params, cfg, x, labels) -> dict:
    """Cosine between each variant's local update and the true open-loop gradient, per
    parameter tensor (Rossbroich & Zenke 2023, the rules of Sec. 3; chapter
    ``02_derivation``): ``{variant: [cos per tensor]}``."""
    ys = soft_targets(labels)
    ol = open_loop_steady_state(params, cfg, x)
    true = open_loop_gradient(params, cfg, x, ys, ol)
    out = {}
    for name, (rule, avg, y0) in ALIGNMENT_VARIANTS.items():
        Q = feedback_weights(params, cfg, ol, average=avg)
        cl = closed_loop_steady_state(params, cfg, x, Q, ys, init=ol)
        pts = lin_thresh_point(cfg, ol) if y0 is None else [0 * u[0, ...] + y0 for u in ol.uI]
        upd = local_gradients(rule, params, cfg, x, cl, pts)
        out[name] = [cosine([a], [b]) for a, b in zip(upd, true)]
    return out


def run_alignment(task: Task, ctx) -> dict:
    """Alignment of the local updates with the true open-loop gradient (chapter
    ``02_derivation``): a ``hidden`` x ``width`` network on the scikit-learn digits, at
    initialisation on the first ``batch`` training samples, then after ``train_steps``
    exact-inv training steps (consecutive batches) on the last ``batch`` samples. One
    point per seed; checkpoints during training."""
    p = task.p
    xp = get_xp()
    cfg = MicrocircuitConfig()
    x_train, y_train, x_test, y_test = digits_784(xp=xp)
    state = ctx.resume()
    if state is None:
        state = dict(k=0, trainer=None, i=0, done=0, results=[])
    bar = ctx.progress(len(task.points) * p.train_steps, "steps", done=state["done"])
    for k, pt in enumerate(task.points):
        if k < state["k"]:
            continue
        if state["trainer"] is None:
            tr = Trainer.create([784] + [p.width] * p.hidden + [10], rule="exact-inv",
                                seed=int(pt["seed"]), xp=xp)
            init = alignment(tr.params, cfg, x_train[: p.batch, ...], y_train[: p.batch])
            state.update(trainer=tr, i=0, init=init)
        tr = state["trainer"]
        while state["i"] < p.train_steps:
            i = state["i"]
            j = (i * p.batch) % (x_train.shape[0] - 2 * p.batch)
            tr.step(x_train[j : j + p.batch, ...], y_train[j : j + p.batch])
            state["i"] += 1
            state["done"] += 1
            bar.update(1)
            if state["i"] % 10 == 0:
                ctx.checkpoint(state)
        trained = alignment(tr.params, cfg, x_train[-p.batch :, ...], y_train[-p.batch :])
        state["results"].append(dict(
            cos_init=[state["init"][v] for v in ALIGNMENT_VARIANTS],
            cos_trained=[trained[v] for v in ALIGNMENT_VARIANTS],
            test_accuracy=tr.accuracy(x_test, y_test),
        ))
        state.update(k=k + 1, trainer=None, init=None)
        ctx.checkpoint(state)
    bar.close()
    res = state["results"]
    return dict(
        cos_init=host.asarray([r["cos_init"] for r in res], dtype=float),
        cos_trained=host.asarray([r["cos_trained"] for r in res], dtype=float),
        test_accuracy=host.asarray([r["test_accuracy"] for r in res], dtype=float),
        variant=host.asarray(list(ALIGNMENT_VARIANTS)),
        tensor=host.asarray(_tensor_names(p.hidden)),
    )


def _tensor_names(hidden: int) -> list[str]:
    """``W_1, b_1, ..., W_L, b_L, W_out``: the order of ``Params.arrays()``."""
    names = []
    for l in range(1, hidden + 1):
        names += [f"W_{l}", f"b_{l}"]
    return names + ["W_out"]


ALIGNMENT_EXPERIMENT = register(Experiment(
    name="disinhibition.alignment",
    run=run_alignment,
    presets=(ALIGNMENT,),
    axes=lambda p: dict(seed=seed_values(p.seeds)),
    batch=5,
    dims=dict(cos_init=("variant", "tensor"), cos_trained=("variant", "tensor"),
              variant=("variant",), tensor=("tensor",)),
    coords=("variant", "tensor"),
    doc="cosine of the local updates with the open-loop gradient, at init and after training",
))
