"""Registered experiments of Part II (eicore.dendritic.protocols): sweeps, tasks, batch
invariance and bitwise resume on tiny tasks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from eicore.backend import backend_name, to_numpy
from eicore.dendritic import BarsStream, SequenceStream, Simulation, make_network
from eicore.dendritic.experiment import Curve, PhaseSchedule, Trainer, chunk_ends, train
from eicore.dendritic.presets import (
    BARS,
    DELAYS,
    DELAYS_SCENES,
    MNIST,
    MODEL_DEMO,
    SCENES,
    VARIANTS_S2,
    VARIANTS_S3,
)
from eicore.runs import Context, Interrupted, Task, experiments, get

NAMES = {
    "dendritic.model_demo": (1, 1, 1, 1),
    "dendritic.fig3_mnist": (10, 1, 10, 1),
    "dendritic.fig4b_bars": (50, 1, 2100, 33),
    "dendritic.fig5_scenes": (30, 3, 90, 9),
    "dendritic.fig6b_delays": (30, 3, 20, 2),
    "dendritic.fig6a_scenes_delays": (50, 5, 180, 18),
    "dendritic.figS3_variants": (25, 1, 50, 1),
    "dendritic.figS2_variants": (25, 1, 25, 1),
    "dendritic.figS2_rate_control": (10, 1, 10, 1),
}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_registered_with_sane_tasks(name):
    assert name in experiments()
    exp = get(name)
    n_ci, t_ci, n_full, t_full = NAMES[name]
    for scale, n, t in (("ci", n_ci, t_ci), ("full", n_full, t_full)):
        pts = exp.points(scale)
        tasks = exp.tasks(scale)
        assert len(pts) == n and len(tasks) == t, (scale, len(pts), len(tasks))
        assert sum(len(task) for task in tasks) == n
        for task in tasks:
            assert len(task) <= exp.batch
            for axis in exp.separate:
                assert len(set(task.values(axis))) == 1
        assert "seed" in exp.sweep(scale)
    # a GPU takes all 2,100 bar networks at once
    if name == "dendritic.fig4b_bars":
        assert len(exp.tasks("full", batch=2100)) == 1


def _tiny(name, preset, points, **changes):
    return Task(name, "ci", tuple(points), {preset.name: preset.get("ci", **changes)})


def _run(task, ctx=None):
    return get(task.experiment).run(task, ctx or Context())


def _equal(a, b):
    """Bitwise equal on NumPy (and its device emulation); on a GPU, equal to float32
    rounding: its matrix products sum in an order that depends on the batch size, which
    moved results by up to 2e-7 (relative) on an H200, without changing a spike."""
    assert set(a) == set(b)
    exact = backend_name() in ("numpy", "strict")
    for k in a:
        if exact or not np.issubdtype(np.asarray(a[k]).dtype, np.floating):
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-6, atol=0, err_msg=k)


def _rows(res, rows):
    return {k: (v if k == "patterns" and v.ndim == 1 else v[rows]) for k, v in res.items()}


BARS_TINY = dict(n_train=500, test_every=200, n_test=10)


def test_bars_batch_equals_points_alone_and_in_another_batch():
    exp = get("dendritic.fig4b_bars")
    pts = exp.points("ci")
    sel = [pts[0], pts[7], pts[31], pts[49]]  # SB and DB, several p and seeds
    big = _run(_tiny(exp.name, BARS, sel, **BARS_TINY))
    alone = _run(_tiny(exp.name, BARS, sel[2:3], **BARS_TINY))
    _equal(_rows(big, [2]), alone)
    other = _run(_tiny(exp.name, BARS, [sel[3], pts[12], sel[1]], **BARS_TINY))
    _equal(_rows(big, [3, 1]), _rows(other, [0, 2]))


def test_bars_interrupted_and_resumed_is_bitwise_equal(tmp_path):
    exp = get("dendritic.fig4b_bars")
    pts = exp.points("ci")
    task = _tiny(exp.name, BARS, [pts[3], pts[40]], **BARS_TINY)
    ref = _run(task)
    path = tmp_path / "task.ckpt"
    with pytest.raises(Interrupted):
        _run(task, Context(path, every=0, stop_after=2))
    with pytest.raises(Interrupted):  # twice: resume from a resumed state
        _run(task, Context(path, every=0, stop_after=2))
    ctx = Context(path, every=0)
    _equal(_run(task, ctx), ref)
    assert ctx.resumed


def test_variants_both_kinds_in_one_task_equal_alone_and_resume(tmp_path):
    exp = get("dendritic.figS3_variants")
    kw = dict(n_train=800, test_every=200, n_test=10, side=2)
    pts = exp.points("ci")  # (DB, SB, simultaneous, slow, decay) x 2 seeds
    sel = [pts[1], pts[2], pts[7], pts[9]]
    task = _tiny(exp.name, VARIANTS_S3, sel, **kw)
    big = _run(task)
    assert big["loss"].shape == (4, 5) and np.isnan(big["corr_balance"][0])
    _equal(_rows(big, [3]), _run(_tiny(exp.name, VARIANTS_S3, sel[3:], **kw)))
    _equal(_rows(big, [0]), _run(_tiny(exp.name, VARIANTS_S3, sel[:1], **kw)))
    path = tmp_path / "s3.ckpt"
    with pytest.raises(Interrupted):  # stops inside the second (dendritic) batch
        _run(task, Context(path, every=0, stop_after=6))
    _equal(_run(task, Context(path, every=0)), big)


def test_mnist_phases_and_resume(tmp_path, monkeypatch):
    import eicore.dendritic.protocols as prot

    rng = np.random.default_rng(0)
    fake = {("train", None): rng.random((50, 256), np.float32),
            ("test", 8): rng.random((8, 256), np.float32)}
    monkeypatch.setattr(prot, "_mnist", lambda split, n: fake[(split, n)])
    exp = get("dendritic.fig6b_delays")
    kw = dict(n_train=300, test_every=100, n_test=8, dts=[1.0, 2.0], phase2_W=100,
              phase3_F=200)
    pts = [dict(dt=2.0, rule=r, seed=s) for r in ("SB", "DB") for s in (0, 1)]
    task = Task(exp.name, "ci", tuple(pts), {DELAYS.name: DELAYS.get("ci", **kw)})
    ref = _run(task)
    assert ref["raster"].shape == (4, 1000, 9) and not ref["raster"][:, 500:].any()  # padded
    path = tmp_path / "m.ckpt"
    with pytest.raises(Interrupted):
        _run(task, Context(path, every=0, stop_after=3))
    _equal(_run(task, Context(path, every=0)), ref)
    alone = _run(Task(exp.name, "ci", (pts[2],), {DELAYS.name: DELAYS.get("ci", **kw)}))
    _equal(_rows(ref, [2]), alone)


def test_trainer_sub_chunks_equal_whole_chunks():
    """Stopping every 200 patterns gives bitwise the run of whole test_every chunks."""

    def fresh():
        net = make_network(["SB", "DB"], n_z=4, n_x=16, batch=2, dt=1.0, eta_F=1e-3,
                           eta_D=1e-3, eta_W=np.array([1e-3, 0.0]), eta_b=1e-2)
        return Simulation(net, noise_seeds=[3, 4])

    test = SequenceStream(np.eye(16, dtype=np.float32)[:5], np.tile(np.arange(5), (2, 1)))
    # whole chunks, as the simulator runs them
    sim = fresh()
    bars = BarsStream([0.2, 0.6], [1, 2], side=4)
    loss = [sim.run(test.reset(), 5, learn=False)["loss"].mean(axis=1)]
    for n in (450, 450, 100):
        sim.run(bars, n, record_loss=False)
        loss.append(sim.run(test.reset(), 5, learn=False)["loss"].mean(axis=1))
    # the trainer, pickled and unpickled after every step
    sim2 = fresh()
    bars2 = BarsStream([0.2, 0.6], [1, 2], side=4)
    tr = Trainer(sim2, chunk_ends(1000, 450), 5, schedule=PhaseSchedule([]))
    steps = 0
    while not tr.finished:
        tr.step(bars2, test)
        snap = bars2.snapshot()
        tr = pickle.loads(pickle.dumps(tr))
        bars2 = BarsStream([0.2, 0.6], [9, 9], side=4).restore(snap)
        steps += 1
    assert steps > 4
    np.testing.assert_array_equal(np.asarray(tr.curve.loss), np.asarray(loss))
    np.testing.assert_array_equal(to_numpy(tr.sim.net.F), to_numpy(sim.net.F))
    assert tr.curve.patterns == [0, 450, 900, 1000]


def test_train_continues_a_curve():
    net = make_network("DB", n_z=3, n_x=16, dt=1.0, eta_D=1e-3)
    sim = Simulation(net, noise_seeds=[0])
    test = SequenceStream(np.ones((1, 16), np.float32), np.zeros((1, 1), int))
    curve = train(sim, BarsStream([0.0], [1], side=4), test, 4, 4, 1)
    curve = train(sim, BarsStream([0.0], [1], side=4), test, 6, 4, 1, curve=curve)
    assert isinstance(curve, Curve) and curve.patterns == [0, 4, 8, 10]


def test_presets_used_by_the_experiments():
    used = {p.name for exp in experiments().values() if exp.part == "dendritic"
            for p in exp.presets}
    assert used == {p.name for p in (MODEL_DEMO, MNIST, BARS, SCENES, DELAYS, DELAYS_SCENES,
                                     VARIANTS_S2, VARIANTS_S3)}
