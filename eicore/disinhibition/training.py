"""Training networks with dis-inhibitory control or with back-propagation
(authors' ``main.py`` and ``src/models/dale/trainer.py``).

One dis-inhibitory training step (batch ``B``): open-loop steady state -> feedback
weights ``Q`` -> soft targets -> closed-loop steady state (warm-started at the
open-loop state) -> lin-thresh linearisation points -> local "gradients" -> Adam.
Test accuracy is always measured in **open loop**. Chapter
``book/disinhibition/05_table1.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..backend import asarray, get_xp, host, namespace, to_numpy
from ..errors import ConfigurationError
from .dynamics import closed_loop_steady_state, open_loop_steady_state
from .feedback import feedback_weights
from .learning import RULES, Adam, bp_forward, bp_loss_and_grads, lin_thresh_point, local_gradients
from .network import (
    MicrocircuitConfig,
    Params,
    check_positive,
    cross_entropy,
    init_params,
    soft_targets,
)

__all__ = ["LOSS_NAMES", "TRAINERS", "Fit", "Trainer", "fit", "digits_784", "load_dataset"]

#: Accepted training-rule names: the two dis-inhibitory rules and the BP baseline.
TRAINERS = ("bp", *RULES)


def _losses(*losses):
    """Batch-mean losses as floats (lists of floats for a stack of networks), moved to the
    host in one transfer."""
    xp = namespace(losses[0])
    a = to_numpy(xp.stack([xp.asarray(l) for l in losses]))
    return [float(v) if v.ndim == 0 else [float(u) for u in v] for v in a]


#: Names of the losses a training step logs (``Trainer.last``, ``Fit.hist``): the
#: cross-entropy of the network's output in open loop (``c = 0``, the network as it is
#: tested) and in closed loop (the steady state the rules learn from, where the controller
#: has pushed the output towards the target; the authors log this one). For BP both are
#: the loss of the plain forward pass.
LOSS_NAMES = ("loss_open_loop", "loss_closed_loop")


@dataclass
class Trainer:
    """A network, its optimiser and its learning rule (``"bp"``, ``"exact-inv"``, ``"lin-thresh"``).

    ``average=True`` uses the batch-averaged Jacobian as feedback weights
    (authors' ``src/models/dale/trainer.py``).
    """

    params: Params
    rule: str = "exact-inv"
    cfg: MicrocircuitConfig = field(default_factory=MicrocircuitConfig)
    average: bool = False
    lr: float = 1e-3
    soft_target: float = 0.99
    fb_norm: float = 1.0
    adam: Adam = None
    last: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.rule not in TRAINERS:
            raise ConfigurationError(f"unknown trainer {self.rule!r}; choose one of {TRAINERS}")
        if self.adam is None:
            self.adam = Adam(lr=self.lr)

    @classmethod
    def create(cls, sizes, rule="exact-inv", seed=0, xp=None, n_networks=None, **kw) -> Trainer:
        """A trainer for new random weights; ``n_networks`` independent networks (seeds
        ``seed, seed + 1, ...`` or a sequence) are trained together on the same batches."""
        return cls(init_params(sizes, seed=seed, xp=xp, n_networks=n_networks), rule=rule, **kw)

    def targets(self, labels):
        return soft_targets(
            labels, self.params.sizes[-1], self.soft_target, dtype=self.params.W_out.dtype
        )

    def gradients(self, x, labels):
        """The update direction fed to Adam for one batch (and diagnostics in ``self.last``)."""
        y_star = self.targets(labels)
        if self.rule == "bp":
            loss, grads = bp_loss_and_grads(self.params, self.cfg, x, y_star)
            (ol_loss,) = _losses(loss)
            self.last = {"loss_open_loop": ol_loss, "loss_closed_loop": ol_loss}
            return grads
        ol = open_loop_steady_state(self.params, self.cfg, x)
        Q = feedback_weights(self.params, self.cfg, ol, average=self.average, norm=self.fb_norm)
        cl, n_outer = closed_loop_steady_state(
            self.params, self.cfg, x, Q, y_star, init=ol, return_iterations=True
        )
        y0 = lin_thresh_point(self.cfg, ol) if self.rule == "lin-thresh" else None
        ol_loss, cl_loss = _losses(cross_entropy(ol.u_out, y_star), cross_entropy(cl.u_out, y_star))
        self.last = {"loss_open_loop": ol_loss, "loss_closed_loop": cl_loss,
                     "cl_iterations": n_outer}
        return local_gradients(self.rule, self.params, self.cfg, x, cl, y0)

    def step(self, x, labels) -> dict:
        """One training step (authors' ``src/models/dale/trainer.py``);
        returns diagnostics: the batch's cross-entropy in
        open and in closed loop (:data:`LOSS_NAMES`) and the closed-loop outer iterations.

        ``x`` ``(B, n_in)`` and ``labels`` ``(B,)``, or per network ``(S, B, n_in)`` and
        ``(S, B)``; the loss is then a list with one value per network."""
        grads = self.gradients(x, labels)
        self.params = self.params.with_arrays(self.adam.step(self.params.arrays(), grads))
        return self.last

    def logits(self, x):
        """Open-loop output (the BP baseline: plain forward pass)."""
        if self.rule == "bp":
            return bp_forward(self.params, self.cfg, x)[0]
        return open_loop_steady_state(self.params, self.cfg, x).u_out

    def accuracy(self, x, labels, batch=1000) -> float:
        """Open-loop classification accuracy (fraction correct); a list with one value per
        network if the trainer holds several (``n_networks``)."""
        xp = namespace(x)
        correct = 0
        n = x.shape[0]
        for i in range(0, n, batch):
            j = min(i + batch, n)
            pred = xp.argmax(self.logits(x[i:j, ...]), axis=-1)
            correct = correct + xp.sum(xp.astype(pred == labels[i:j], xp.int64), axis=-1)
        if self.params.n_networks is None:
            return int(correct) / n
        return [int(c) / n for c in correct]


class Fit:
    """A resumable training run: :func:`fit` one batch at a time (Table 1, chapter
    ``06_table1``).

    Everything that changes is an attribute: the trainer (weights and Adam state), the
    data-order generator(s), the current epoch's permutation and position in it, the
    losses of the epoch so far and the per-epoch history. A ``Fit`` pickles whole, so a
    run checkpointed between two calls of :meth:`advance` continues bitwise as if it had
    never stopped. The data are passed to :meth:`advance`, not stored.

    ``seed`` sets the data order: one int gives one order shared by all networks of the
    trainer (the inputs are then shared ``(B, n_in)``); with a trainer of ``S`` networks
    (``n_networks``), a sequence of ``S`` seeds gives every network its own order, the one
    it would have alone (inputs ``(S, B, n_in)``).
    """

    def __init__(self, trainer: Trainer, n_train: int, *, epochs: int, batch: int = 100,
                 seed=0):
        self.trainer = trainer
        check_positive("Fit", n_train=n_train, epochs=epochs, batch=batch)
        self.n_train, self.epochs, self.batch = int(n_train), int(epochs), int(batch)
        if self.batch < 1 or self.batch > self.n_train:
            raise ConfigurationError(f"batch must be 1..{self.n_train} samples, got {batch}")
        S = trainer.params.n_networks
        self.per_network = not isinstance(seed, int)
        if self.per_network:
            seeds = [int(s) for s in seed]
            if S is None or len(seeds) != S:
                raise ConfigurationError(
                    f"one data-order seed per network: got {len(seeds)} seeds for "
                    f"{'a single network' if S is None else f'{S} networks'}")
            self.gens = [host.random.default_rng(s) for s in seeds]
        else:
            self.gens = [host.random.default_rng(seed)]
        self.epoch = 0      # finished epochs
        self.perm = None    # permutation(s) of the current epoch, (n,) or (S, n)
        self.pos = 0        # next sample of the current permutation
        self.losses = []    # per-step (open-loop, closed-loop) losses of the current epoch
        self.steps = 0      # finished steps in all
        self.hist = {"test_accuracy": [], "train_loss_open_loop": [],
                     "train_loss_closed_loop": []}

    @property
    def steps_per_epoch(self) -> int:
        """Full batches per epoch (a last partial batch is dropped)."""
        return self.n_train // self.batch

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def done(self) -> bool:
        return self.epoch >= self.epochs

    def _batch(self, x, y):
        xp = namespace(x)
        if not self.per_network:
            idx = xp.asarray(self.perm[self.pos : self.pos + self.batch])
            return xp.take(x, idx, axis=0), xp.take(y, idx, axis=0)
        idx = self.perm[:, self.pos : self.pos + self.batch]
        S, B = idx.shape
        flat = xp.asarray(idx.reshape(-1))
        xb = xp.reshape(xp.take(x, flat, axis=0), (S, B, *x.shape[1:]))
        return xb, xp.reshape(xp.take(y, flat, axis=0), (S, B))

    def _mean_loss(self, j):
        losses = [l[j] for l in self.losses]
        if not isinstance(losses[0], list):
            return sum(losses) / len(losses)
        n = len(losses[0])
        return [sum(l[k] for l in losses) / len(losses) for k in range(n)]

    def advance(self, x_train, y_train, x_test, y_test, max_steps=None) -> int:
        """Train for up to ``max_steps`` steps (default: to the end), evaluating the
        open-loop test accuracy at the end of every epoch; returns the steps taken."""
        if x_train.shape[0] != self.n_train:
            raise ConfigurationError(
                f"this run was set up for {self.n_train} training samples, got {x_train.shape[0]}")
        taken = 0
        while not self.done and (max_steps is None or taken < max_steps):
            if self.perm is None:
                perms = [g.permutation(self.n_train) for g in self.gens]
                self.perm = host.stack(perms) if self.per_network else perms[0]
                self.pos, self.losses = 0, []
            info = self.trainer.step(*self._batch(x_train, y_train))
            self.losses.append([info[k] for k in LOSS_NAMES])
            self.pos += self.batch
            self.steps += 1
            taken += 1
            if self.pos + self.batch > self.n_train:  # end of the epoch
                for j, k in enumerate(LOSS_NAMES):
                    self.hist[f"train_{k}"].append(self._mean_loss(j))
                self.hist["test_accuracy"].append(self.trainer.accuracy(x_test, y_test))
                self.epoch += 1
                self.perm, self.losses = None, []
        return taken


def fit(
    trainer: Trainer, x_train, y_train, x_test, y_test, *, epochs, batch=100, seed=0, progress=None
):
    """Train for ``epochs`` epochs (reshuffled each epoch, only full batches), evaluating the
    open-loop test accuracy after each. Returns a dict of per-epoch lists. ``seed``: see
    :class:`Fit` (which this runs to the end, one epoch at a time)."""
    run = Fit(trainer, x_train.shape[0], epochs=epochs, batch=batch, seed=seed)
    while not run.done:
        run.advance(x_train, y_train, x_test, y_test, max_steps=run.steps_per_epoch)
        if progress is not None:
            progress.update(1)
    return run.hist


def digits_784(seed=0, train_fraction=0.7, xp=None):
    """scikit-learn 8x8 digits upsampled x3 and zero-padded to 28x28 = 784 inputs, split
    70/30 with a fixed permutation: the substitute data set on which the authors' code was
    run (the reference run of the authors' ``main.py`` on these digits). Returns ``(x_train,
    y_train, x_test, y_test)`` on backend ``xp``."""
    from ..datasets import load_digits

    xp = xp or get_xp()
    images, labels = load_digits()
    big = host.kron(images, host.ones((1, 3, 3), dtype=images.dtype))
    big = host.pad(big, ((0, 0), (2, 2), (2, 2)))
    flat = big.reshape(len(big), -1).astype(host.float32)
    perm = host.random.default_rng(seed).permutation(len(flat))
    n_tr = int(round(train_fraction * len(flat)))
    tr, te = perm[:n_tr], perm[n_tr:]
    return (
        asarray(flat[tr], xp=xp),
        asarray(labels[tr], xp=xp),
        asarray(flat[te], xp=xp),
        asarray(labels[te], xp=xp),
    )


def load_dataset(name, xp=None, seed=0):
    """``(x_train, y_train, x_test, y_test)`` with 784 inputs for ``name`` in
    ``"digits"`` (:func:`digits_784`), ``"mnist"``, ``"fashion_mnist"``.

    For (Fashion-)MNIST the authors' split is used
    (authors' ``main.py``): the first 10% of the train
    split is the validation set (not returned), the remaining 54,000 images are trained on,
    and the 10,000 test images are evaluated in open loop.
    """
    xp = xp or get_xp()
    if name == "digits":
        return digits_784(seed=seed, xp=xp)
    if name not in ("mnist", "fashion_mnist"):
        raise ConfigurationError(
            f"unknown data set {name!r}; choose 'digits', 'mnist' or 'fashion_mnist'"
        )
    from .. import datasets

    loader = datasets.load_mnist if name == "mnist" else datasets.load_fashion_mnist
    xtr, ytr = loader("train")
    xte, yte = loader("test")
    n_val = len(xtr) // 10
    flat = lambda a: asarray(a.reshape(len(a), -1), dtype="float32", xp=xp)
    return flat(xtr[n_val:]), asarray(ytr[n_val:], xp=xp), flat(xte), asarray(yte, xp=xp)
