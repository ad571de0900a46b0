"""``ci`` / ``full`` parameter sets of the Part III experiments (see :mod:`eicore.scale`)."""

from __future__ import annotations

from ..scale import Preset

__all__ = ["TABLE1", "FIG4", "ALIGNMENT"]

TABLE1 = Preset(
    "disinhibition.table1",
    ci=dict(
        datasets=("digits",),
        hidden=(1, 3),
        epochs=20,
        batch=100,
        seeds=(1,),
        lr=1e-3,
        variants=("bp", "exact-inv", "lin-thresh", "exact-inv-avg"),
    ),
    full=dict(
        datasets=("mnist", "fashion_mnist"),
        hidden=(1, 3),
        epochs=50,
        batch=100,
        seeds=tuple(range(10)),
        lr=1e-3,
        variants=("bp", "exact-inv", "lin-thresh", "exact-inv-avg", "lin-thresh-avg"),
    ),
    doc="Table 1: test accuracy (open loop) of BP vs dis-inhibitory control; ci = sklearn "
    "digits upsampled to 784, 70/30 split, as the spec's run of the authors' code",
)

FIG4 = Preset(
    "disinhibition.fig4",
    ci=dict(burn_in=4, epochs=30, seed=2),
    full=dict(burn_in=4, epochs=60, seed=2),
    doc="Fig 4: online student-teacher learning, 5-s epochs",
)

ALIGNMENT = Preset(
    "disinhibition.alignment",
    ci=dict(hidden=3, width=256, batch=100, seed=0, train_steps=60),
    full=dict(hidden=3, width=256, batch=100, seed=0, train_steps=540),
    doc="alignment of the local updates with the true open-loop gradient",
)
