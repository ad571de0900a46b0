"""The registered experiments of Part III: registration, tasks, batching and resume."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import eicore.disinhibition.protocols as prot
from eicore.backend import asarray, to_numpy
from eicore.disinhibition import ALIGNMENT, FIG4, TABLE1, Fit, Trainer, fit
from eicore.runs import Context, Interrupted, Task, experiments, get

NAMES = ("disinhibition.table1", "disinhibition.fig4_student_teacher", "disinhibition.alignment")


def test_experiments_are_registered_with_sane_tasks():
    names = {n for n in experiments() if n.startswith("disinhibition.")}
    assert names == set(NAMES)
    t1 = get("disinhibition.table1")
    for scale in ("ci", "full"):
        p = TABLE1.get(scale)
        pts = t1.points(scale)
        assert len(pts) == len(p.datasets) * len(p.hidden) * len(p.variants) * len(p.seeds)
        for task in t1.tasks(scale):
            for axis in ("dataset", "hidden", "variant"):
                assert len(set(task.values(axis))) == 1
        assert sum(len(t) for t in t1.tasks(scale, batch=10)) == len(pts)
        assert all(v in prot.TABLE1_VARIANTS for v in p.variants)
    assert len(t1.points("full")) == 200 and len(t1.tasks("full")) == 200
    assert len(t1.tasks("full", batch=10)) == 20  # the 10 seeds of one cell in one task
    for name in NAMES[1:]:  # seeds as points, five to a task (one batch)
        exp = get(name)
        assert len(exp.points("ci")) >= 5 and len(exp.tasks("ci")) == 1
        assert len(exp.points("full")) == 10 and len(exp.tasks("full")) == 2
    assert len(t1.points("ci")) >= 5 * 8  # at least five seeds per cell


# ---------------------------------------------------------------- Table 1
@pytest.fixture
def tiny_table1(monkeypatch):
    """8-unit hidden layers, 200 training and 60 test digits, 3-step checkpoint chunks."""
    gen = np.random.default_rng(0)
    x = gen.random((260, 784)).astype(np.float32)
    y = gen.integers(0, 10, 260)
    monkeypatch.setattr(prot, "_host_dataset", lambda name: (x[:200], y[:200], x[200:], y[200:]))
    monkeypatch.setattr(prot, "TABLE1_WIDTH", 8)
    monkeypatch.setattr(prot, "TABLE1_CHUNK", 3)
    params = {TABLE1.name: TABLE1.get("ci", epochs=2, batch=20)}

    def task(variant, seeds, hidden=1):
        pts = tuple({"dataset": "digits", "hidden": hidden, "variant": variant, "seed": s}
                    for s in seeds)
        return Task("disinhibition.table1", "ci", pts, params)

    # the data on the active backend, as the experiment moves it (for direct calls of fit)
    return task, tuple(asarray(a) for a in (x[:200], y[:200], x[200:], y[200:]))


def test_table1_single_seed_is_fit(tiny_table1):
    task, data = tiny_table1
    out = get("disinhibition.table1").run(task("lin-thresh", [3]), Context())
    tr = Trainer.create([784, 8, 10], rule="lin-thresh", seed=3)
    hist = fit(tr, *data, epochs=2, batch=20, seed=3)
    assert out["test_accuracy"].shape == (1, 2)
    np.testing.assert_array_equal(out["test_accuracy"][0], hist["test_accuracy"])
    np.testing.assert_array_equal(out["train_loss_open_loop"][0], hist["train_loss_open_loop"])
    np.testing.assert_array_equal(out["train_loss_closed_loop"][0],
                                  hist["train_loss_closed_loop"])
    assert out["final_accuracy"][0] == hist["test_accuracy"][-1]
    np.testing.assert_array_equal(out["epoch"], [1, 2])


@pytest.mark.parametrize("variant", ["bp", "exact-inv-avg"])
def test_table1_seeds_in_one_batch_equal_separate_runs(tiny_table1, variant):
    """A stack of seeds equals separate runs up to float rounding and solver tolerance."""
    task, _ = tiny_table1
    exp = get("disinhibition.table1")
    both = exp.run(task(variant, [1, 2]), Context())
    for k, s in enumerate((1, 2)):
        alone = exp.run(task(variant, [s]), Context())
        key = "train_loss_closed_loop"
        np.testing.assert_allclose(both[key][k], alone[key][0], rtol=1e-4)
        assert np.abs(both["test_accuracy"][k] - alone["test_accuracy"][0]).max() <= 1 / 60


def test_table1_resume_is_bitwise(tiny_table1, tmp_path):
    task, _ = tiny_table1
    exp = get("disinhibition.table1")
    t = task("exact-inv", [5])
    ref = exp.run(t, Context())
    ckpt = tmp_path / "t.ckpt"
    with pytest.raises(Interrupted):  # stops mid-epoch (10 steps per epoch, 3-step chunks)
        exp.run(t, Context(ckpt, every=0, stop_after=2))
    ctx = Context(ckpt)
    out = exp.run(t, ctx)
    assert ctx.resumed
    for key in ("test_accuracy", "train_loss_open_loop", "train_loss_closed_loop",
                "final_accuracy"):
        np.testing.assert_array_equal(out[key], ref[key])


def test_fit_pickles_and_resumes_bitwise(tiny_table1):
    import pickle

    _, data = tiny_table1
    runs = [Fit(Trainer.create([784, 8, 8, 10], rule="exact-inv", seed=0), 200, epochs=2,
                batch=20, seed=0) for _ in range(2)]
    runs[0].advance(*data)
    runs[1].advance(*data, max_steps=7)
    runs[1] = pickle.loads(pickle.dumps(runs[1]))
    runs[1].advance(*data)
    assert runs[1].done and runs[1].steps == 20
    for a, b in zip(runs[0].trainer.params.arrays(), runs[1].trainer.params.arrays()):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    assert runs[0].hist == runs[1].hist


# ---------------------------------------------------------------- Fig 4
@pytest.fixture
def short_epochs(monkeypatch):
    monkeypatch.setattr(prot, "FIG4_CONFIG", dataclasses.replace(prot.FIG4_CONFIG, dtmax=2e-2))
    pts = ({"seed": 2},)
    return Task("disinhibition.fig4_student_teacher", "ci", pts,
                {FIG4.name: FIG4.get("ci", burn_in=1, epochs=3, epoch_T=0.2)})


def test_fig4_resume_is_bitwise(short_epochs, tmp_path):
    exp = get("disinhibition.fig4_student_teacher")
    ref = exp.run(short_epochs, Context())
    assert ref["OL"].shape == (1, 3, 2) and ref["y_after"].shape == (1, 201, 2, 2)
    ckpt = tmp_path / "f.ckpt"
    with pytest.raises(Interrupted):
        exp.run(short_epochs, Context(ckpt, every=0, stop_after=2))
    out = exp.run(short_epochs, Context(ckpt))
    for key in ("OL", "CL", "H", "n_steps", "y_before", "y_after", "sim_seconds"):
        np.testing.assert_array_equal(out[key], ref[key])


# ---------------------------------------------------------------- alignment
def test_alignment_resume_is_bitwise(tmp_path):
    exp = get("disinhibition.alignment")
    t = Task("disinhibition.alignment", "ci", ({"seed": 0},),
             {ALIGNMENT.name: ALIGNMENT.get("ci", hidden=1, width=16, batch=20, train_steps=25)})
    ref = exp.run(t, Context())
    assert ref["cos_init"].shape == (1, 4, 3) and list(ref["tensor"]) == ["W_1", "b_1", "W_out"]
    ckpt = tmp_path / "a.ckpt"
    with pytest.raises(Interrupted):
        exp.run(t, Context(ckpt, every=0, stop_after=1))
    out = exp.run(t, Context(ckpt))
    for key in ("cos_init", "cos_trained", "test_accuracy"):
        np.testing.assert_array_equal(out[key], ref[key])


def test_seed_offset_shifts_every_seed_axis(monkeypatch):
    from eicore.errors import ConfigurationError

    base = {n: [pt["seed"] for pt in get(n).points("ci")] for n in NAMES}
    monkeypatch.setenv("EICORE_SEED_OFFSET", "7")
    for n in NAMES:
        assert [pt["seed"] for pt in get(n).points("ci")] == [s + 7 for s in base[n]]
    monkeypatch.setenv("EICORE_SEED_OFFSET", "x")
    with pytest.raises(ConfigurationError, match="EICORE_SEED_OFFSET"):
        get(NAMES[0]).points("ci")
