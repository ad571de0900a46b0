"""Registered experiments of Part II, local dendritic balance (Mikulasch, Rudelt & Priesemann,
PNAS 2021); see :mod:`eicore.runs`.

Every figure-level experiment of the chapters is one :class:`~eicore.runs.Experiment`:

=================================  ================================  ==========
name                               sweep (first axis slowest)        chapter
=================================  ================================  ==========
``dendritic.model_demo``           seed                              01 Model
``dendritic.fig3_mnist``           rule x seed                       03 MNIST
``dendritic.fig4b_bars``           rule x p_corr x seed              04 Bars
``dendritic.fig5_scenes``          n_z x rule x seed (n_z separate)  05 Scenes
``dendritic.fig6b_delays``         dt x rule x seed (dt separate)    06 Delays
``dendritic.fig6a_scenes_delays``  dt x rule x seed (dt separate)    06 Delays
``dendritic.figS3_variants``       variant x seed                    07 Variants
``dendritic.figS2_variants``       variant x seed                    07 Variants
``dendritic.figS2_rate_control``   control x seed                    07 Variants
=================================  ================================  ==========

A task's points are simulated as one batch per network kind (SB and analytic DB share one
batch; the learned dendritic variants another). Every random number of a network comes
from seeds fixed by its point and the preset: noise seeds and starting weights are those of
the point's position in the chapters' batches (so the stored numbers equal the ones the
chapters computed in one batch), and a batch gives bitwise the same numbers as its points
run alone (the simulator keeps one noise generator per network and picks every per-network
branch per network; ``tests/test_protocols_dendritic.py``).

Tasks are resumable: the state (simulations with their noise generators,
stream positions or generators, learning curves, phase schedules) is checkpointed after
every 200 training patterns (:class:`~.experiment.Trainer`); ``--checkpoint-every`` sets
how often it is written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from ..backend import host, to_numpy
from ..datasets import make_bars
from ..runs import Experiment, Task, register
from ..runs.seeds import seed_values
from .experiment import PhaseSchedule, Trainer, chunk_ends
from .inputs import BarsStream, SequenceStream, mnist012, scenes_patterns
from .measures import bars_learned, mean_pairwise_cosine
from .network import VARIANTS, make_network
from .presets import (
    BARS,
    DELAYS,
    DELAYS_SCENES,
    MNIST,
    MODEL_DEMO,
    SCENES,
    VARIANTS_S2,
    VARIANTS_S3,
)
from .simulate import Simulation

__all__ = ["RULES", "S_VARIANTS", "Job", "balance_correlation", "coincident_fraction",
           "run_jobs"]

#: The two rules of the main figures, in the order of the chapters' batches.
RULES = ("SB", "DB")
#: Variants of Figs S2/S3: analytic DB, SB, and the three learned DB variants.
S_VARIANTS = ("DB", "SB", "simultaneous", "slow", "decay")
def _seed(base: int, s: int):
    """Seed of replicate ``s`` of a network whose first replicate uses ``base``."""
    return base if int(s) == 0 else [int(base), int(s)]


# ------------------------------------------------------------------------- data (cached)
@functools.lru_cache(maxsize=4)
def _mnist(split: str, n: int | None):
    X, labels = mnist012(split, n=n)
    X.setflags(write=False)
    return X


def _in_order(X, Xt, B: int) -> tuple[SequenceStream, SequenceStream]:
    """(train, test) streams that show every one of ``B`` networks the images of ``X`` and
    ``Xt`` in the data set's order (the authors' MNIST runs)."""
    return (SequenceStream(X, host.tile(host.arange(len(X)), (B, 1))),
            SequenceStream(Xt, host.tile(host.arange(len(Xt)), (B, 1))))


@functools.lru_cache(maxsize=2)
def _scenes(n: int):
    X = scenes_patterns(n, seed=0)
    X.setflags(write=False)
    return X


# ------------------------------------------------------------------------- the task loop
@dataclass
class Job:
    """One batch of networks inside a task.

    ``idx``: positions of its points in ``task.points``; ``trainer()`` builds the fresh
    :class:`~.experiment.Trainer`; ``streams()`` the (train, test) streams, rebuilt on
    every (re)start (their changing part is kept by ``snapshot``/``restore``); ``post``
    (optional) measures the trained networks once training is over (it may run the
    simulation further) and returns per-network host arrays.
    """

    idx: list[int]
    total: int
    trainer: Callable[[], Trainer]
    streams: Callable[[], tuple]
    post: Callable[[Trainer, object], dict] | None = None


def run_jobs(ctx, jobs: list[Job]) -> list[tuple[Trainer, dict]]:
    """Run the jobs of a task one after the other with checkpoints and one progress bar.

    The state (every trainer, the train streams' snapshots, post-training measures and
    the patterns done) is checkpointed after every sub-chunk; returns ``(trainer, post)``
    per job.
    """
    state = ctx.resume()
    if state is None:
        state = dict(trainers=[None] * len(jobs), streams=[None] * len(jobs),
                     post=[None] * len(jobs), done=0)
    bar = ctx.progress(sum(j.total for j in jobs), "patterns", done=state["done"])
    for k, job in enumerate(jobs):
        tr = state["trainers"][k]
        if tr is not None and tr.finished and state["post"][k] is not None:
            continue
        train_s, test_s = job.streams()
        if tr is None:
            tr = state["trainers"][k] = job.trainer()
        elif state["streams"][k] is not None:
            train_s.restore(state["streams"][k])
        while not tr.finished:
            n = tr.step(train_s, test_s)
            state["done"] += n
            state["streams"][k] = train_s.snapshot()
            bar.update(n)
            ctx.checkpoint(state)
        state["post"][k] = job.post(tr, test_s) if job.post is not None else {}
        ctx.checkpoint(state)
    bar.close()
    return [(state["trainers"][k], state["post"][k]) for k in range(len(jobs))]


def _gather(task: Task, jobs: list[Job], results, fields: dict[str, Callable]) -> dict:
    """Per-point outputs: ``fields[name](trainer, post) -> (B, ...)`` put back in task order."""
    out: dict[str, list] = {name: [None] * len(task) for name in fields}
    for job, (tr, post) in zip(jobs, results, strict=True):
        for name, fn in fields.items():
            a = host.asarray(fn(tr, post))
            for j, i in enumerate(job.idx):
                out[name][i] = a[j]
    return {name: host.stack(v) for name, v in out.items()}


def _curve(tr: Trainer):
    return host.asarray(tr.curve.loss).T  # (B, T)


def _padded(a, length: int):
    """(B, T) -> (B, length), NaN after T."""
    a = host.asarray(a, dtype=host.float64)
    out = host.full((a.shape[0], length), host.nan)
    out[:, : a.shape[1]] = a
    return out


def _groups(task: Task, axis: str):
    """Positions of the task's points per network kind of ``axis`` (somatic first)."""
    kinds: dict[str, list[int]] = {}
    for i, pt in enumerate(task.points):
        kinds.setdefault(VARIANTS[pt[axis]], []).append(i)
    return [kinds[k] for k in ("somatic", "dendritic") if k in kinds]


def balance_correlation(F, D, Wd):
    """Correlation of learned dendritic inhibition ``Wd[j,i,k]`` with ``-F_ji D_ik`` (B,)."""
    F, D, Wd = (to_numpy(a).astype(host.float64) for a in (F, D, Wd))
    bal = -F[:, :, :, None] * D[:, None, :, :]
    return host.array([host.corrcoef(Wd[b].ravel(), bal[b].ravel())[0, 1]
                       for b in range(F.shape[0])])


def coincident_fraction(spk):
    """Fraction of spikes fired in a step in which another neuron of the network spikes too;
    ``spk`` (B, steps, n_z) -> (B,)."""
    spk = host.asarray(spk, dtype=host.float64)
    n = spk.sum(axis=2, keepdims=True)
    return (spk * (n >= 2)).sum(axis=(1, 2)) / host.maximum(spk.sum(axis=(1, 2)), 1)


# ------------------------------------------------------------------------- chapter 01
def run_model_demo(task: Task, ctx) -> dict:
    """Chapter 01 (*Model*): a DB network of 16 neurons learns 8x8 bars (p = 0) for
    ``n_train`` patterns at dt = 1 ms, then shows ``n_show`` patterns with plasticity off
    (cf. Fig 3A of the paper). Stores the mean rate during training, sigma, F, and the
    spikes and losses of the shown patterns."""
    p = task.p
    seeds = [int(s) for s in task.values("seed")]
    B = len(seeds)

    def trainer():
        net = make_network("DB", batch=B, n_z=16, n_x=64, dt=1.0, rho=0.015, sigma_init=1.0,
                           sigma_final=0.316, eta_F=1e-3, eta_D=1e-3, eta_b=1e-2,
                           eta_sigma=1e-5)
        sim = Simulation(net, noise_seeds=[_seed(0, s) for s in seeds])
        return Trainer(sim, [p.n_train], 0)  # training only

    def streams():
        bars = BarsStream([0.0] * B, seeds=[_seed(1, s) for s in seeds])
        return bars, bars

    def post(tr, bars):
        out = tr.sim.run(bars, p.n_show, learn=False, record_spikes=True)
        return dict(spikes=out["spikes"], loss=out["loss"])

    ((tr, shown),) = run_jobs(ctx, [Job(list(range(B)), p.n_train, trainer, streams, post)])
    net = tr.sim.net
    return dict(rate_hz=tr.counts.mean(axis=1) / (p.n_train * 0.1),
                sigma=to_numpy(net.sigma).astype(host.float64), F=to_numpy(net.F),
                spikes=shown["spikes"], show_loss=shown["loss"])


# ------------------------------------------------------------------------- Figs 3, 6B
def _mnist_job(task: Task, idx: list[int], p, dt: float, post=None) -> Job:
    """SB and DB networks on MNIST 0-2 with the authors' three phases (Figs 3 and 6B):
    network ``(rule r, seed s)`` is network ``r * seeds + s`` of the chapters' batch
    (its noise seed and its block of the starting weights)."""
    pts = [task.points[i] for i in idx]
    rules = [pt["rule"] for pt in pts]
    b = [RULES.index(pt["rule"]) * p.seeds + int(pt["seed"]) for pt in pts]
    B = len(pts)
    X, Xt = _mnist("train", None), _mnist("test", p.n_test)

    def trainer():
        eta_F = host.array([p.eta_F_sb if v == "SB" else p.eta_F_db for v in rules], host.float32)
        sb_only = host.array([v == "SB" for v in rules], host.float32)
        net = make_network(rules, n_z=9, n_x=256, batch=B, dt=dt, rho=p.rho,
                           sigma_init=p.sigma, eta_D=p.eta_D, eta_b=p.eta_b, F_init="mnist",
                           seed=1, init_index=b, D_init="FT")
        # the authors' phases: D and b only; then inhibition (SB); then input weights
        schedule = PhaseSchedule([(p.phase2_W, {"eta_W": p.eta_W_phase2 * sb_only}),
                                  (p.phase3_F, {"eta_W": p.eta_W * sb_only, "eta_F": eta_F})])
        sim = Simulation(net, noise_seeds=b)
        return Trainer(sim, chunk_ends(p.n_train, p.test_every), p.n_test, schedule=schedule)

    return Job(idx, p.n_train, trainer, functools.partial(_in_order, X, Xt, B), post)


def run_fig3_mnist(task: Task, ctx) -> dict:
    """Fig 3 (chapter 03): SB vs DB, 9 neurons on MNIST 0-2 (16x16), with the authors'
    phases (D and b; then inhibition; then F). Stores the test-loss curves, F, the mean
    pairwise cosine of the fields and, after training, how many neurons fire during each
    of 100 test images (Fig 3A/B)."""
    p = task.p

    def post(tr, test):
        sim = tr.sim
        out = sim.run(test.reset(), 100, learn=False, record_spikes=True)
        spk = out["spikes"].reshape(sim.net.batch, 100, sim.l, sim.net.n_z)
        return dict(active=(spk.sum(axis=2) > 0).sum(axis=2))

    jobs = [_mnist_job(task, list(range(len(task))), p, p.dt, post)]
    res = run_jobs(ctx, jobs)
    tr = res[0][0]
    out = _gather(task, jobs, res, dict(
        loss=lambda tr, _: _curve(tr),
        F=lambda tr, _: to_numpy(tr.sim.net.F),
        cos=lambda tr, _: mean_pairwise_cosine(tr.sim.net.F),
        active=lambda _, post: post["active"],
    ))
    out["final"] = out["loss"][:, -1]
    out["patterns"] = host.asarray(tr.curve.patterns)
    return out


def run_fig6b_delays(task: Task, ctx) -> dict:
    """Fig 6B (PNAS Fig 5B; chapter 06): the Fig 3 protocol with transmission delay = dt.
    Stores the test-loss curves, F, the fields' mean pairwise cosine, the fraction of
    coincident spikes during 50 test images and the spikes of the first 10 (padded to the
    number of steps at the smallest dt)."""
    p = task.p
    (dt,) = set(task.values("dt"))
    n_steps = 10 * int(round(100.0 / min(p.dts)))

    def post(tr, test):
        spk = tr.sim.run(test.reset(), 50, learn=False, record_spikes=True)["spikes"]
        raster = host.zeros((spk.shape[0], n_steps, spk.shape[2]), dtype=bool)
        first = spk[:, : 10 * tr.sim.l]
        raster[:, : first.shape[1]] = first
        return dict(coincident=coincident_fraction(spk), raster=raster)

    jobs = [_mnist_job(task, list(range(len(task))), p, float(dt), post)]
    res = run_jobs(ctx, jobs)
    tr = res[0][0]
    out = _gather(task, jobs, res, dict(
        loss=lambda tr, _: _curve(tr),
        F=lambda tr, _: to_numpy(tr.sim.net.F),
        cos=lambda tr, _: mean_pairwise_cosine(tr.sim.net.F),
        coincident=lambda _, post: post["coincident"],
        raster=lambda _, post: post["raster"],
    ))
    out["final"] = out["loss"][:, -1]
    out["patterns"] = host.asarray(tr.curve.patterns)
    return out


# ------------------------------------------------------------------------- Fig 4B
def bars_stream_seed(p_corr: float, s: int) -> int:
    """Seed of the training images of replicate ``s`` at pair correlation ``p_corr`` (SB
    and DB see the same images); distinct for p in steps of 0.05 and up to 50 seeds."""
    return 1000 + 10 * round(100 * float(p_corr)) + int(s)


def run_fig4b_bars(task: Task, ctx) -> dict:
    """Fig 4B/C (chapter 04): SB vs analytic DB, 16 neurons on 8x8 bars with correlated
    pairs. Network ``(rule, p, s)`` uses the noise seed of its position in the whole sweep
    (the chapter's single batch at ci scale). Stores the test-loss curves, F and the
    bar-matching measures of :func:`~.measures.bars_learned`."""
    p = task.p
    pts = task.points
    B = len(pts)
    rules = task.values("rule")
    pcs = [float(v) for v in task.values("p_corr")]
    n_p = len(p.p_corr)
    noise = [RULES.index(pt["rule"]) * n_p * p.seeds
             + list(p.p_corr).index(pt["p_corr"]) * p.seeds + int(pt["seed"]) for pt in pts]

    def trainer():
        eta_W = host.array([p.eta_W if v == "SB" else 0.0 for v in rules], host.float32)
        net = make_network(rules, n_z=16, n_x=64, batch=B, dt=p.dt, rho=p.rho, sigma_init=1.0,
                           sigma_final=p.sigma_final, eta_F=p.eta_F, eta_W=eta_W,
                           eta_D=p.eta_D, eta_b=p.eta_b, eta_sigma=p.eta_sigma)
        sim = Simulation(net, noise_seeds=noise)
        return Trainer(sim, chunk_ends(p.n_train, p.test_every), p.n_test)

    def streams():
        tr = BarsStream(pcs, seeds=[bars_stream_seed(pc, pt["seed"]) for pc, pt in zip(pcs, pts)])
        imgs = {pc: make_bars(p.n_test, 8, pc, seed=999)[0].reshape(p.n_test, -1)
                for pc in set(pcs)}
        data = host.concatenate([imgs[pc] for pc in pcs])
        te = SequenceStream(data, host.arange(B * p.n_test).reshape(B, p.n_test))
        return tr, te

    jobs = [Job(list(range(B)), p.n_train, trainer, streams)]
    res = run_jobs(ctx, jobs)
    tr = res[0][0]
    match = bars_learned(tr.sim.net.F)
    loss = _curve(tr)
    return dict(loss=loss, final=loss[:, -1], patterns=host.asarray(tr.curve.patterns),
                F=to_numpy(tr.sim.net.F), unique=match["unique"], single=match["single"],
                all_single=match["all_single"], max_cos=match["max_cos"])


# ------------------------------------------------------------------------- Figs 5, 6A
def _scenes_job(task: Task, p, n_z: int, dt: float, n_train: int, test_every: int,
                noise_base: Callable[[str], int]) -> Job:
    """SB and DB networks of ``n_z`` neurons on natural-image patches at a population rate
    of ``pop_rate_hz`` (Figs 5 and 6A): replicate ``s`` of rule ``r`` starts from block ``r``
    of the random weights of seed 3 and sees the patch order of seed 5 (seeds
    ``[3, s]``, ``[5, s]`` for ``s > 0``)."""
    pts = task.points
    B = len(pts)
    rules = task.values("rule")
    seeds = [int(s) for s in task.values("seed")]
    X = _scenes(p.n_patches)

    def trainer():
        rho = p.pop_rate_hz / n_z / 1000.0  # per-neuron target rate in 1/ms
        eta_W = host.array([p.eta_W if v == "SB" else 0.0 for v in rules])
        # seed s: the two rules' starting weights are blocks 0, 1 of seed _seed(3, s)
        F0 = []
        for v, s in zip(rules, seeds):
            net1 = make_network(v, n_z=n_z, n_x=X.shape[1], dt=dt, rho=rho,
                                F_init="random" if p.F_scale > 0 else "zero",
                                F_scale=p.F_scale, seed=_seed(3, s), init_index=[RULES.index(v)])
            F0.append(to_numpy(net1.F)[0])
        net = make_network(rules, n_z=n_z, n_x=X.shape[1], batch=B, dt=dt, rho=rho,
                           sigma_init=1.0, sigma_final=p.sigma_final, eta_F=p.eta_F,
                           eta_W=eta_W, eta_D=p.eta_D, eta_b=p.eta_b, eta_sigma=p.eta_sigma,
                           F0=host.stack(F0))
        sim = Simulation(net, noise_seeds=[_seed(noise_base(v), s) for v, s in zip(rules, seeds)])
        # the authors lower the rates after 20,000 s (never reached at ci scale)
        slower = {"eta_D": 0.75 * p.eta_D, "eta_F": 0.75 * p.eta_F, "eta_b": p.eta_b * 2 / 3,
                  "eta_W": 0.7 * eta_W}
        return Trainer(sim, chunk_ends(n_train, test_every), p.n_test,
                       schedule=PhaseSchedule([(p.slow_down_at, slower)]))

    def streams():
        order = host.stack([host.random.default_rng(_seed(5, s)).integers(0, len(X), n_train)
                            for s in seeds])
        return (SequenceStream(X, order),
                SequenceStream(X[: p.n_test], host.tile(host.arange(p.n_test), (B, 1))))

    return Job(list(range(B)), n_train, trainer, streams)


def run_fig5_scenes(task: Task, ctx) -> dict:
    """Fig 5 (PNAS Fig 4D; chapter 05): loss vs number of neurons on natural-image
    patches at a population rate of 1000 Hz. A network of ``n_z`` neurons trains for
    ``max(n_train, n_train_per_neuron * n_z)`` patterns with ``n_tests`` tests. Stores the
    curves (with their own pattern counts), the minimum and final loss, F (padded with NaN
    to the largest n_z of the sweep) and the fields' mean pairwise cosine."""
    p = task.p
    (n_z,) = set(task.values("n_z"))
    n_train = max(p.n_train, p.n_train_per_neuron * n_z)
    jobs = [_scenes_job(task, p, n_z, p.dt, n_train, n_train // p.n_tests,
                        lambda v: 10 * n_z + RULES.index(v))]
    res = run_jobs(ctx, jobs)
    tr = res[0][0]
    loss = _curve(tr)
    F = to_numpy(tr.sim.net.F)
    Fp = host.full((F.shape[0], max(p.n_z), F.shape[2]), host.nan, dtype=F.dtype)
    Fp[:, :n_z] = F
    B = len(task)
    return dict(loss=loss, best=loss.min(axis=1), final=loss[:, -1],
                patterns=host.tile(host.asarray(tr.curve.patterns), (B, 1)), F=Fp,
                cos=mean_pairwise_cosine(F))


def run_fig6a_scenes_delays(task: Task, ctx) -> dict:
    """Fig 6A (PNAS Fig 5A; chapter 06): natural-image patches, loss vs transmission delay
    (= dt) for ``n_z`` neurons. Stores the curves, minimum and final loss, F and the
    fields' mean pairwise cosine."""
    p = task.p
    (dt,) = set(task.values("dt"))
    jobs = [_scenes_job(task, p, p.n_z, float(dt), p.n_train, p.test_every,
                        lambda v: 7 + RULES.index(v))]
    res = run_jobs(ctx, jobs)
    tr = res[0][0]
    loss = _curve(tr)
    return dict(loss=loss, best=loss.min(axis=1), final=loss[:, -1],
                patterns=host.asarray(tr.curve.patterns), F=to_numpy(tr.sim.net.F),
                cos=mean_pairwise_cosine(tr.sim.net.F))


# ------------------------------------------------------------------------- Figs S2, S3
def _variant_index(v: str) -> int:
    """Position of a variant within its kind's batch in the chapter (DB, SB | sim, slow, decay)."""
    return ("DB", "SB").index(v) if VARIANTS[v] == "somatic" else (
        "simultaneous", "slow", "decay").index(v)


def _s3_tests(p, kind: str) -> list[int]:
    if kind == "somatic":
        return chunk_ends(p.n_train, p.test_every)
    return [p.F_on] + chunk_ends(p.n_train - p.F_on, p.test_every, p.F_on)


def _s2_tests(q, kind: str) -> list[int]:
    if kind == "somatic":
        return chunk_ends(q.n_train, q.test_every)
    return [q.F_on] + chunk_ends(q.n_train - q.F_on, q.test_every, q.F_on)


def _s2_outputs(task: Task, ctx, jobs) -> dict:
    """Run the jobs of a Fig S2 task and gather the variants' outputs, curves padded to the
    longer of the two kinds' test schedules."""
    q = task.p
    res = run_jobs(ctx, jobs)
    n_tests = 1 + max(len(_s2_tests(q, k)) for k in ("somatic", "dendritic"))
    return _variant_outputs(task, jobs, res, n_tests)


def _variant_outputs(task: Task, jobs, res, n_tests: int) -> dict:
    def corr(tr, _):
        net = tr.sim.net
        if net.kind != "dendritic":
            return host.full(net.batch, host.nan)
        return balance_correlation(net.F, net.D, net.Wd)

    out = _gather(task, jobs, res, dict(
        loss=lambda tr, _: _padded(_curve(tr), n_tests),
        patterns=lambda tr, _: _padded(host.tile(host.asarray(tr.curve.patterns, dtype=float),
                                                 (tr.sim.net.batch, 1)), n_tests),
        final=lambda tr, _: _curve(tr)[:, -1],
        F=lambda tr, _: to_numpy(tr.sim.net.F),
        corr_balance=corr,
    ))
    return out


def run_figS3_variants(task: Task, ctx) -> dict:
    """Fig S3 (chapter 07): the learned DB variants (simultaneous, slow, decay) vs analytic
    DB and SB on 4x4 bars at p = 0.7, learning rates x ``mult``. SB and DB run in one batch
    (noise seeds ``r * seeds + s``), the dendritic variants in another (``100 + r * seeds +
    s``); the decay variant learns F from pattern ``F_on`` on (the inhibition and decoder
    learn from the start). Tests every ``test_every`` patterns. Stores the curves (NaN-padded:
    the two kinds test at different patterns), F, the bars matched uniquely and the
    correlation of the learned inhibition with ``-F D``."""
    p = task.p
    m, S = p.mult, p.seeds
    n_x, n_z = p.side**2, 2 * p.side
    common = dict(n_z=n_z, n_x=n_x, dt=p.dt, rho=p.rho, sigma_init=1.0,
                  sigma_final=p.sigma_final, eta_sigma=p.eta_sigma, eta_D=p.eta_D, eta_b=p.eta_b)
    test_imgs = make_bars(p.n_test, p.side, p.p_corr, seed=999)[0].reshape(p.n_test, -1)
    jobs = []
    for idx in _groups(task, "variant"):
        pts = [task.points[i] for i in idx]
        vs = [pt["variant"] for pt in pts]
        ss = [int(pt["seed"]) for pt in pts]
        kind = VARIANTS[vs[0]]
        B = len(pts)

        def trainer(vs=vs, ss=ss, kind=kind, B=B):
            noise = [_variant_index(v) * S + s for v, s in zip(vs, ss)]
            if kind == "somatic":
                net = make_network(vs, batch=B, eta_F=5e-5 * m,
                                   eta_W=host.array([0.0 if v == "DB" else 1e-4 * m for v in vs],
                                                    host.float32), **common)
                sim = Simulation(net, noise_seeds=noise)
                return Trainer(sim, _s3_tests(p, kind), p.n_test)
            rate_F = {"simultaneous": 5e-5 * m, "slow": 1e-7 * m * 25, "decay": 5e-5 * m}
            eta_W = {"simultaneous": 1e-4 * m, "slow": 5e-5 * m, "decay": 1e-4 * m}
            eta_F_on = host.array([rate_F[v] for v in vs], host.float32)
            net = make_network(vs, batch=B,
                               eta_F=host.where([v == "decay" for v in vs], 0.0, eta_F_on)
                               .astype(host.float32),
                               eta_W=host.array([eta_W[v] for v in vs], host.float32),
                               eta_Fbar=5e-5 * m,
                               decay=host.array([0.005 if v == "decay" else 0.0 for v in vs],
                                                host.float32),
                               F_init="const", F_scale=0.001, **common)
            sim = Simulation(net, noise_seeds=[100 + n for n in noise])
            return Trainer(sim, _s3_tests(p, kind), p.n_test,
                           schedule=PhaseSchedule([(p.F_on, {"eta_F": eta_F_on})]))

        def streams(ss=ss, B=B):
            return (BarsStream([p.p_corr] * B, seeds=ss, side=p.side),
                    SequenceStream(test_imgs, host.tile(host.arange(p.n_test), (B, 1))))

        jobs.append(Job(idx, p.n_train, trainer, streams))
    res = run_jobs(ctx, jobs)
    n_tests = 1 + max(len(_s3_tests(p, k)) for k in ("somatic", "dendritic"))
    out = _variant_outputs(task, jobs, res, n_tests)
    out["unique"] = bars_learned(out["F"], side=p.side)["unique"]
    return out


def run_figS2_variants(task: Task, ctx) -> dict:
    """Fig S2 (chapter 07): the learned DB variants vs analytic DB and SB on MNIST 0-2
    (9 neurons, dt = 0.1 ms), with the authors' S2 rates per variant (x ``mult_F`` for F,
    x ``mult`` for W, D and Fbar). SB and DB start from F = 0 in one batch (noise seeds
    ``r * seeds + s``); the dendritic variants start from their constant F0 in another
    (``100 + r * seeds + s``), the decay variant at its own rate ``rho_decay`` and learning
    F from pattern ``F_on`` on. Stores the curves (NaN-padded), F and the correlation of
    the learned inhibition with ``-F D``."""
    q = task.p
    S = q.seeds
    rate = {name: dict(zip(q.variants, vals)) for name, vals in
            [("eta_F", q.eta_F), ("eta_W", q.eta_W), ("eta_D", q.eta_D), ("eta_b", q.eta_b),
             ("F0", q.F0)]}
    X, Xt = _mnist("train", None), _mnist("test", q.n_test)
    jobs = []
    for idx in _groups(task, "variant"):
        pts = [task.points[i] for i in idx]
        vs = [pt["variant"] for pt in pts]
        ss = [int(pt["seed"]) for pt in pts]
        kind = VARIANTS[vs[0]]
        B = len(pts)

        def per_net(key, vs=vs, scale=1.0):
            return host.array([rate[key][v] * scale for v in vs], host.float32)

        def trainer(vs=vs, ss=ss, kind=kind, B=B, per_net=per_net):
            noise = [_variant_index(v) * S + s for v, s in zip(vs, ss)]
            if kind == "somatic":
                net = make_network(vs, n_z=9, n_x=256, batch=B, dt=q.dt, rho=q.rho,
                                   sigma_init=q.sigma, eta_F=per_net("eta_F", scale=q.mult_F),
                                   eta_W=per_net("eta_W", scale=q.mult),
                                   eta_D=per_net("eta_D", scale=q.mult), eta_b=per_net("eta_b"))
                sim = Simulation(net, noise_seeds=noise)
                return Trainer(sim, _s2_tests(q, kind), q.n_test)
            is_decay = host.array([v == "decay" for v in vs])
            F0 = per_net("F0")[:, None, None] * host.ones((1, 9, 256), host.float32)
            eta_F_on = per_net("eta_F", scale=q.mult_F)
            eta_F_on[is_decay] *= q.mult_F_decay  # ci: the decay network fires at 5 Hz
            net = make_network(vs, n_z=9, n_x=256, batch=B, dt=q.dt,
                               rho=host.where(is_decay, q.rho_decay, q.rho),
                               sigma_init=q.sigma, F0=F0,
                               eta_F=host.where(is_decay, 0.0, eta_F_on).astype(host.float32),
                               eta_W=per_net("eta_W", scale=q.mult),
                               eta_D=per_net("eta_D", scale=q.mult), eta_b=per_net("eta_b"),
                               eta_Fbar=q.eta_Fbar * q.mult,
                               decay=host.where(is_decay, q.decay, 0.0).astype(host.float32))
            sim = Simulation(net, noise_seeds=[100 + n for n in noise])
            return Trainer(sim, _s2_tests(q, kind), q.n_test,
                           schedule=PhaseSchedule([(q.F_on, {"eta_F": eta_F_on})]))

        jobs.append(Job(idx, q.n_train, trainer, functools.partial(_in_order, X, Xt, B)))
    return _s2_outputs(task, ctx, jobs)


#: the two controls of Fig S2: the analytic DB at the "decay" network's rate, and the
#: "decay" network at the others' rate
S2_CONTROLS = ("DB at 5 Hz", "decay at 20 Hz")


def run_figS2_rate_control(task: Task, ctx) -> dict:
    """Fig S2 controls (chapter 07) for the "decay" network, which the authors' script runs
    at a target rate ``rho_decay`` (5 Hz) and the other networks at ``rho`` (20 Hz):

    * ``"DB at 5 Hz"``: the analytic DB of Fig S2 (its rates and protocol, from F = 0) at
      ``rho_decay``, the loss the analytic solution reaches at the decay network's rate;
    * ``"decay at 20 Hz"``: the decay network of Fig S2 (its rates, F0, ``F_on``) at
      ``rho``, without the extra ``mult_F_decay`` that the ``ci`` preset gives its 5 Hz.

    Noise seeds ``200 + s`` and ``300 + s``. Stores the curves (NaN-padded), the final
    loss, F and, for the decay networks, the correlation of the learned inhibition with
    ``-F D``."""
    q = task.p
    S2v = dict(zip(q.variants, range(len(q.variants))))
    X, Xt = _mnist("train", None), _mnist("test", q.n_test)
    jobs = []
    groups: dict[str, list[int]] = {}
    for i, pt in enumerate(task.points):
        groups.setdefault(pt["control"], []).append(i)
    for control, idx in groups.items():
        ss = [int(task.points[i]["seed"]) for i in idx]
        B = len(ss)

        if control == "DB at 5 Hz":
            v = S2v["DB"]

            def trainer(ss=ss, B=B, v=v):
                net = make_network("DB", n_z=9, n_x=256, batch=B, dt=q.dt, rho=q.rho_decay,
                                   sigma_init=q.sigma, eta_F=q.eta_F[v] * q.mult_F,
                                   eta_D=q.eta_D[v] * q.mult, eta_b=q.eta_b[v])
                sim = Simulation(net, noise_seeds=[200 + s for s in ss])
                return Trainer(sim, _s2_tests(q, "somatic"), q.n_test)
        else:
            v = S2v["decay"]

            def trainer(ss=ss, B=B, v=v):
                F0 = q.F0[v] * host.ones((B, 9, 256), host.float32)
                net = make_network("decay", n_z=9, n_x=256, batch=B, dt=q.dt, rho=q.rho,
                                   sigma_init=q.sigma, F0=F0, eta_F=0.0,
                                   eta_W=q.eta_W[v] * q.mult, eta_D=q.eta_D[v] * q.mult,
                                   eta_b=q.eta_b[v], decay=q.decay)
                sim = Simulation(net, noise_seeds=[300 + s for s in ss])
                return Trainer(sim, _s2_tests(q, "dendritic"), q.n_test,
                               schedule=PhaseSchedule([(q.F_on, {"eta_F": q.eta_F[v] * q.mult_F})]))

        jobs.append(Job(idx, q.n_train, trainer, functools.partial(_in_order, X, Xt, B)))
    return _s2_outputs(task, ctx, jobs)


# ------------------------------------------------------------------------- registry
_CURVE = dict(loss=("test",), patterns=("test",))

register(Experiment(
    name="dendritic.model_demo", run=run_model_demo, presets=(MODEL_DEMO,),
    axes=lambda p: dict(seed=seed_values(p.seeds)),
    batch=64,
    dims=dict(F=("neuron", "pixel"), spikes=("step", "neuron"), show_loss=("shown",)),
    doc="Chapter 01: a DB network learns bars; its spikes and fields",
))

register(Experiment(
    name="dendritic.fig3_mnist", run=run_fig3_mnist, presets=(MNIST,),
    axes=lambda p: dict(rule=list(RULES), seed=seed_values(p.seeds)),
    batch=64,
    dims=dict(**_CURVE, F=("neuron", "pixel"), active=("image",)),
    coords=("patterns",),
    doc="Fig 3: SB vs DB on MNIST 0-2, learning curves, fields, neurons per image",
))

register(Experiment(
    name="dendritic.fig4b_bars", run=run_fig4b_bars, presets=(BARS,),
    axes=lambda p: dict(rule=list(RULES), p_corr=list(p.p_corr), seed=seed_values(p.seeds)),
    batch=64,
    dims=dict(**_CURVE, F=("neuron", "pixel")),
    coords=("patterns",),
    doc="Fig 4B/C: SB vs DB on bars with correlated pairs, loss vs pair correlation",
))

register(Experiment(
    name="dendritic.fig5_scenes", run=run_fig5_scenes, presets=(SCENES,),
    axes=lambda p: dict(n_z=list(p.n_z), rule=list(RULES), seed=seed_values(p.seeds)),
    batch=64, separate=("n_z",),
    dims=dict(**_CURVE, F=("neuron", "input")),
    doc="Fig 5: SB vs DB on natural-image patches, loss vs number of neurons",
))

register(Experiment(
    name="dendritic.fig6b_delays", run=run_fig6b_delays, presets=(DELAYS,),
    axes=lambda p: dict(dt=list(p.dts), rule=list(RULES), seed=seed_values(p.seeds)),
    batch=64, separate=("dt",),
    dims=dict(**_CURVE, F=("neuron", "pixel"), raster=("step", "neuron")),
    coords=("patterns",),
    doc="Fig 6B: SB vs DB on MNIST 0-2 with transmission delay = dt",
))

register(Experiment(
    name="dendritic.fig6a_scenes_delays", run=run_fig6a_scenes_delays, presets=(DELAYS_SCENES,),
    axes=lambda p: dict(dt=list(p.dts), rule=list(RULES), seed=seed_values(p.seeds)),
    batch=64, separate=("dt",),
    dims=dict(**_CURVE, F=("neuron", "input")),
    coords=("patterns",),
    doc="Fig 6A: SB vs DB on natural-image patches, loss vs transmission delay",
))

register(Experiment(
    name="dendritic.figS3_variants", run=run_figS3_variants, presets=(VARIANTS_S3,),
    axes=lambda p: dict(variant=list(S_VARIANTS), seed=seed_values(p.seeds)),
    batch=64,
    dims=dict(**_CURVE, F=("neuron", "pixel")),
    doc="Fig S3: learned DB variants vs analytic DB and SB on 4x4 bars",
))

register(Experiment(
    name="dendritic.figS2_variants", run=run_figS2_variants, presets=(VARIANTS_S2,),
    axes=lambda p: dict(variant=list(p.variants), seed=seed_values(p.seeds)),
    batch=64,
    dims=dict(**_CURVE, F=("neuron", "pixel")),
    doc="Fig S2: learned DB variants vs analytic DB and SB on MNIST 0-2",
))

register(Experiment(
    name="dendritic.figS2_rate_control", run=run_figS2_rate_control, presets=(VARIANTS_S2,),
    axes=lambda p: dict(control=list(S2_CONTROLS), seed=seed_values(p.seeds)),
    batch=64,
    dims=dict(**_CURVE, F=("neuron", "pixel")),
    doc="Fig S2 controls: the analytic DB at the 'decay' network's 5 Hz, 'decay' at 20 Hz",
))
