"""Parameter presets of Part I (Table 1 of Mackwood et al. 2021), ``ci`` and ``full`` scale.

The network itself is the same at both scales; ``ci`` shortens training (fewer trials,
larger learning rates) and subsamples the perturbation protocol; ``smoke`` (code paths
only) has 6^3 stimuli, one trial and a few perturbed cells. ``seeds`` is the number of
independent networks per condition (five at ``ci``, over which the chapters check each
claim; one at ``full``) (the sweep axis ``seed`` of the registered experiments
in :mod:`.protocols`). Chapter
``book/assemblies/01_model.ipynb`` prints :meth:`Preset.table` of each.
"""

from __future__ import annotations

from ..scale import Preset

__all__ = ["NETWORK", "TRAIN_LOCAL", "TRAIN_GRADIENT", "PERTURB", "SAMPLING"]

_NET = dict(
    n_stim=12,  # stimuli per axis: 12^3 = 1728 stimuli
    n_pref=8,  # Pyr preferences per axis: 8^3 = 512 Pyr cells (authors' code)
    NI=64,
    kappa=1.0,
    max_rate=50.0,
    I_bg=5.0,
    p_conn=0.6,
    J_EE=2.0,
    J_EI=1.0,
    J_IE=5.0,
    J_II=1.0,
    sigma=0.65,
    sigma_heavy=1.45,  # Fig 3-S2 static heavy-tailed Pyr->PV weights (~5 decades)
    alpha_scale=0.05,  # softplus sharpness alpha = 0.05 / mean weight (authors' code)
    tau_E=50.0,
    tau_I=25.0,
    rho0=1.0,
)

#: The network (Table 1); identical at both scales.
NETWORK = Preset("assemblies.network", ci=_NET, full=_NET, doc="E/I network, Table 1",
                 smoke=dict(n_stim=6))  # smoke: 6^3 = 216 stimuli

#: Local rules (Eq 8) with plain gradient steps: Figs 1-4.
TRAIN_LOCAL = Preset(
    "assemblies.train_local",
    ci=dict(trials=5, eta=2e-4, decay=0.1, tol=0.05, dt=20.0, angle=True, angle_every=8,
            seeds=5),
    full=dict(trials=500, eta=1e-5, decay=0.1, tol=0.05, dt=30.0, angle=True, angle_every=1,
              seeds=1),
    doc="local (approximate) rules, Eq 8; ci: fewer trials, larger eta",
    smoke=dict(trials=1, seeds=2),
)

#: Gradient rules (Eq 15) with Adam: Fig 1-S2.
TRAIN_GRADIENT = Preset(
    "assemblies.train_gradient",
    ci=dict(trials=2, eta=1e-3, decay=0.1, tol=0.05, dt=20.0, beta1=0.9, beta2=0.999, eps=1e-9,
            seeds=5),
    full=dict(trials=500, eta=1e-3, decay=0.1, tol=0.05, dt=20.0, beta1=0.9, beta2=0.999,
              eps=1e-9, seeds=1),
    doc="gradient rules, Eq 15, with Adam",
    smoke=dict(trials=1, seeds=2),
)

#: Single-cell perturbations (Fig 4).
PERTURB = Preset(
    "assemblies.perturb",
    ci=dict(n_cells=40, n_stimuli=150, dI=10.0, tol=0.005, seeds=5),
    full=dict(n_cells=90, n_stimuli=1728, dI=10.0, tol=0.005, seeds=1),
    doc="+10 Hz to single Pyr cells; influence vs RF correlation",
    smoke=dict(n_cells=4, n_stimuli=24, seeds=2),
)

#: Repeated sampling of n = 100 connections (Figs 1e, 2d-f, 3e).
SAMPLING = Preset(
    "assemblies.sampling",
    ci=dict(n=100, repeats=10000, alpha=0.01, theta=1e-4),
    full=dict(n=100, repeats=10000, alpha=0.01, theta=1e-4),
    doc="sampling test of weight-vs-RS correlations",
    smoke=dict(repeats=200),
)
