"""Training protocol of Mikulasch et al. (2021): online learning with regular test runs.

Every ``test_every`` training patterns the whole test set is shown with plasticity off;
the network state is not reset, as in the authors' code (spec §1.10). The test loss is
the mean over all test steps (fades included) of the decoder loss, Eq 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..backend import host
from .simulate import Simulation

__all__ = ["Curve", "phase_schedule", "train"]


@dataclass
class Curve:
    """Test-loss learning curves of a batch: ``patterns`` (T,), ``loss`` (T, B)."""

    patterns: list = field(default_factory=list)
    loss: list = field(default_factory=list)

    def arrays(self):
        return host.asarray(self.patterns), host.asarray(self.loss)

    @property
    def final(self):
        """Final test loss per network (B,)."""
        return host.asarray(self.loss[-1])


def train(
    sim: Simulation,
    train_stream,
    test_stream,
    n_train: int,
    test_every: int,
    n_test: int,
    *,
    curve: Curve | None = None,
    schedule=None,
    progress: bool = False,
) -> Curve:
    """Train for ``n_train`` patterns, testing on ``n_test`` patterns every ``test_every``.

    ``test_stream`` must have a ``reset()`` (the same test patterns every time).
    ``schedule(sim, n_done)`` may change rates between chunks (e.g. the Fig 3 phases).
    A test is also run before training starts when ``curve`` is new.
    """
    curve = curve or Curve()
    done0 = curve.patterns[-1] if curve.patterns else 0
    bar = None
    if progress:
        from tqdm import tqdm  # text bar: no ipywidgets needed

        bar = tqdm(total=n_train, desc="patterns", leave=False, mininterval=10.0)
    if not curve.patterns:
        out = sim.run(test_stream.reset(), n_test, learn=False)
        curve.patterns.append(0)
        curve.loss.append(out["loss"].mean(axis=1))
    done = 0
    while done < n_train:
        if schedule is not None:
            schedule(sim, done0 + done)
        n = min(test_every, n_train - done)
        sim.run(train_stream, n, record_loss=False, progress=bar)
        done += n
        out = sim.run(test_stream.reset(), n_test, learn=False)
        curve.patterns.append(done0 + done)
        curve.loss.append(out["loss"].mean(axis=1))
    if bar is not None:
        bar.close()
    return curve


def phase_schedule(phases):
    """A ``schedule`` for :func:`train` that sets rule constants from given patterns on.

    ``phases`` is a list of ``(start_pattern, {rule_name: value or (B,) values})``; each
    phase is applied once, at the first chunk that starts at or after ``start_pattern``
    (e.g. the three phases of the authors' Fig 3 protocol, or the learning-rate drop of
    the natural-scenes runs). Chunks are ``test_every`` patterns long.
    """
    applied = set()

    def schedule(sim: Simulation, n_done: int) -> None:
        xp = sim.net.xp
        for k, (start, rates) in enumerate(phases):
            if k not in applied and n_done >= start:
                for name, value in rates.items():
                    old = sim.net.rules[name]
                    sim.net.rules[name] = xp.asarray(
                        xp.broadcast_to(xp.asarray(value, dtype=old.dtype), old.shape),
                        copy=True,
                    )
                applied.add(k)

    return schedule
