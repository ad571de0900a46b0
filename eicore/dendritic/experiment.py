"""Training protocol of Mikulasch et al. (2021): online learning with regular test runs.

Every ``test_every`` training patterns the whole test set is shown with plasticity off;
the network state is not reset, as in the authors' code
(Priesemann-Group/dendritic_balance). The test loss is
the mean over all test steps (fades included) of the decoder loss, Eq 1.

:class:`Trainer` is the resumable form of this protocol: it advances in sub-chunks of at
most ``chunk`` patterns (the simulator's own chunk of 200 patterns by default, so that a
split run draws exactly the patterns and noise of an unsplit one) and keeps everything
that changes (simulation, schedule, curve, counters) in one picklable object.
:func:`train` runs it to the end in one call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..backend import host
from .simulate import Simulation

__all__ = ["Curve", "PhaseSchedule", "Trainer", "phase_schedule", "chunk_ends", "train"]


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


def chunk_ends(n_train: int, test_every: int, start: int = 0) -> list[int]:
    """Pattern counts after which :func:`train` tests: every ``test_every`` patterns from
    ``start`` on, and at ``start + n_train`` (the last chunk may be shorter)."""
    out, done = [], 0
    while done < n_train:
        done += min(test_every, n_train - done)
        out.append(start + done)
    return out


class PhaseSchedule:
    """A ``schedule`` that sets rule constants from given patterns on.

    ``phases`` is a list of ``(start_pattern, {rule_name: value or (B,) values})``; each
    phase is applied once, at the first chunk (the patterns between two tests) that starts
    at or after ``start_pattern`` (e.g. the three phases of the authors' Fig 3 protocol, or
    the learning-rate drop of the natural-scenes runs). Picklable: the set of phases
    already applied is part of the object.
    """

    def __init__(self, phases):
        self.phases = [(int(start), dict(rates)) for start, rates in phases]
        self.applied: set[int] = set()

    def __call__(self, sim: Simulation, n_done: int) -> None:
        xp = sim.net.xp
        for k, (start, rates) in enumerate(self.phases):
            if k not in self.applied and n_done >= start:
                for name, value in rates.items():
                    old = sim.net.rules[name]
                    sim.net.rules[name] = xp.asarray(
                        xp.broadcast_to(xp.asarray(value, dtype=old.dtype), old.shape),
                        copy=True,
                    )
                self.applied.add(k)


def phase_schedule(phases) -> PhaseSchedule:
    """A :class:`PhaseSchedule` of ``phases`` (see there)."""
    return PhaseSchedule(phases)


class Trainer:
    """Resumable training of one batch: test at pattern 0, then after each of ``tests``.

    ``tests`` are ascending pattern counts (e.g. :func:`chunk_ends`); the patterns between
    two of them form a *chunk*, at whose start ``schedule(sim, n_done)`` is called. Each
    :meth:`step` trains at most ``chunk`` patterns (never past the next test) and runs the
    test when a chunk is complete. Sub-chunks of the simulator's own chunk length (200
    patterns) draw the same patterns and noise as a whole chunk in one run, so results do
    not depend on how often the caller stops. ``n_test = 0`` trains without tests (the
    curve then holds NaN). ``counts`` sums the spikes of every neuron during training.
    The object pickles (streams are passed to
    :meth:`step`, not stored: their state is the caller's).
    """

    def __init__(self, sim: Simulation, tests, n_test: int, *, schedule=None,
                 curve: Curve | None = None, done: int = 0, chunk: int = 200):
        self.sim = sim
        self.tests = [int(t) for t in tests]
        self.n_test = int(n_test)
        self.schedule = schedule
        self.curve = curve if curve is not None else Curve()
        self.done = int(done)
        self.chunk = int(chunk)
        self._fresh = True  # at the start of a chunk
        self.counts = None  # spikes per neuron during training (B, n_z)

    @property
    def total(self) -> int:
        """Pattern count at the end of training."""
        return self.tests[-1] if self.tests else self.done

    @property
    def finished(self) -> bool:
        return bool(self.curve.patterns) and self.done >= self.total

    def _test(self, test_stream) -> None:
        self.curve.patterns.append(self.done)
        if self.n_test > 0:
            out = self.sim.run(test_stream.reset(), self.n_test, learn=False)
            self.curve.loss.append(out["loss"].mean(axis=1))
        else:  # training only: no test runs
            self.curve.loss.append(host.full(self.sim.net.batch, host.nan))
        self._fresh = True

    def step(self, train_stream, test_stream) -> int:
        """Advance by one sub-chunk (or run the first test); the patterns trained."""
        if not self.curve.patterns:
            self._test(test_stream)
            return 0
        if self.finished:
            return 0
        target = next(t for t in self.tests if t > self.done)
        if self._fresh:
            if self.schedule is not None:
                self.schedule(self.sim, self.done)
            self._fresh = False
        n = min(self.chunk, target - self.done)
        out = self.sim.run(train_stream, n, record_loss=False, chunk=self.chunk)
        self.counts = out["counts"] if self.counts is None else self.counts + out["counts"]
        self.done += n
        if self.done == target:
            self._test(test_stream)
        return n


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
    tr = Trainer(sim, chunk_ends(n_train, test_every, done0), n_test, schedule=schedule,
                 curve=curve, done=done0)
    bar = None
    if progress:
        from tqdm import tqdm  # text bar: no ipywidgets needed

        bar = tqdm(total=n_train, desc="patterns", leave=False, mininterval=10.0)
    while not tr.finished:
        n = tr.step(train_stream, test_stream)
        if bar is not None:
            bar.update(n)
    if bar is not None:
        bar.close()
    return curve
