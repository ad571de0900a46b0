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
        seeds=(1, 2, 3, 4, 5),
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
    smoke=dict(hidden=(1,), epochs=1, seeds=(1, 2)),
    doc="Table 1: test accuracy (open loop) of BP vs dis-inhibitory control; ci = sklearn "
    "digits upsampled to 784, 70/30 split, as the authors' code was also run",
)

FIG4 = Preset(
    "disinhibition.fig4",
    ci=dict(burn_in=4, epochs=30, seeds=(2, 3, 4, 5, 6), epoch_T=5.0),
    full=dict(burn_in=4, epochs=60, seeds=tuple(range(2, 12)), epoch_T=5.0),
    smoke=dict(burn_in=1, epochs=3, seeds=(2, 3), epoch_T=0.2),
    doc="Fig 4: online student-teacher learning, 5-s epochs; seeds simulated as one batch",
)

ALIGNMENT = Preset(
    "disinhibition.alignment",
    ci=dict(hidden=3, width=256, batch=100, seeds=(0, 1, 2, 3, 4), train_steps=60),
    full=dict(hidden=3, width=256, batch=100, seeds=tuple(range(10)), train_steps=540),
    smoke=dict(hidden=1, width=16, batch=20, seeds=(0, 1), train_steps=3),
    doc="alignment of the local updates with the true open-loop gradient",
)
