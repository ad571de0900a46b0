"""A small stochastic experiment that exercises the runner (hidden from ``eicore list``).

Each point is a random walk of ``steps`` steps with its own seed and step size, advanced in
chunks with a checkpoint after each: cheap enough for the tests of the store, the
checkpoints, the command line and Dask, and sensitive to any change in the random stream.
A task that holds the seed named by the environment variable ``EICORE_SELFTEST_FAIL``
raises an error after its first chunk (the tests of failing tasks).
"""

from __future__ import annotations

import os

from ..backend import host
from ..scale import Preset
from .registry import Experiment, Task, register
from .seeds import seed_values

SELFTEST = Preset(
    "runs.selftest",
    ci=dict(steps=4000, chunk=250, seeds=4, step_size=[0.5, 1.0, 2.0], sleep=0.0),
    full=dict(steps=40000, chunk=1000, seeds=8, step_size=[0.5, 1.0, 2.0], sleep=0.0),
    doc="random walks; tests of the runner",
)


def run(task: Task, ctx) -> dict:
    """Random walks of every point of ``task`` (one generator per point)."""
    import time

    p = task.p
    state = ctx.resume()
    if state is None:
        state = dict(
            gens=[host.random.default_rng([int(pt["seed"]), 7]) for pt in task.points],
            x=host.zeros(len(task.points)), path=[], done=0,
        )
    size = host.asarray(task.values("step_size"), dtype=float)
    bar = ctx.progress(p.steps, "steps", done=state["done"])
    fail = os.environ.get("EICORE_SELFTEST_FAIL")
    while state["done"] < p.steps:
        if fail is not None and state["done"] and int(fail) in task.values("seed"):
            raise RuntimeError(f"self-test failure of seed {fail}")
        n = min(p.chunk, p.steps - state["done"])
        steps = host.stack([g.standard_normal(n) for g in state["gens"]])
        state["x"] = state["x"] + size * steps.sum(axis=1)
        state["path"].append(state["x"].copy())
        state["done"] += n
        if p.sleep:
            time.sleep(p.sleep)
        bar.update(n)
        ctx.checkpoint(state)
    bar.close()
    return dict(final=state["x"], path=host.stack(state["path"], axis=1),
                chunk_end=host.arange(1, len(state["path"]) + 1) * p.chunk)


def walk_experiment(preset: Preset, *, batch: int, doc: str,
                    separate: tuple[str, ...] = ()) -> Experiment:
    """Register a hidden random-walk experiment (:func:`run`) named after ``preset``: the
    sweep is step size x seed, the outputs a path per chunk (the tests of the runner)."""
    return register(Experiment(
        name=preset.name,
        run=run,
        presets=(preset,),
        axes=lambda p: dict(step_size=p.step_size, seed=seed_values(p.seeds)),
        batch=batch,
        separate=separate,
        dims=dict(path=("chunk",), chunk_end=("chunk",)),
        coords=("chunk_end",),
        doc=doc,
        hidden=True,
    ))


SELFTEST_EXPERIMENT = walk_experiment(
    SELFTEST, batch=4, doc="random walks with checkpoints (tests of the runner)")

SELFTEST_SLOW = Preset(
    "runs.selftest_slow",
    ci=dict(steps=2000, chunk=100, seeds=4, step_size=[0.5, 1.0, 2.0], sleep=0.03),
    full=dict(steps=2000, chunk=100, seeds=4, step_size=[0.5, 1.0, 2.0], sleep=0.03),
    doc="random walks that take about 0.6 s per task; tests of kills and resumes",
)

SELFTEST_SLOW_EXPERIMENT = walk_experiment(
    SELFTEST_SLOW, batch=2, doc="slow random walks (tests of the runner)")
