"""Parameter presets of the dendritic-balance experiments (``ci`` and ``full``).

``full`` follows the authors' scripts (Priesemann-Group/dendritic_balance; raw learning
rates, multiplied by dt in ms inside the rules). ``ci`` shortens training by one to two
orders of magnitude and raises the learning rates and the annealing rate to match; the
chapters say so. ``reduced`` (Figs 5 and 6A only) keeps the paper's time steps (0.1 ms;
Fig 6A scans delays of 0.1-3 ms) and shortens the rest: the ci rates, a shortened training,
three of the paper's nine network sizes (Fig 5) and 80 neurons instead of 200 (Fig 6A).
``smoke`` (tiny) only runs every code path.
"""

from __future__ import annotations

from ..scale import Preset

__all__ = [
    "BARS", "DELAYS", "DELAYS_SCENES", "MNIST", "MODEL_DEMO", "SCENES", "VARIANTS_S2",
    "VARIANTS_S3",
]  # fmt: skip

MODEL_DEMO = Preset(
    "dendritic.model_demo",
    ci=dict(n_train=3000, n_show=6, seeds=1),
    full=dict(n_train=3000, n_show=6, seeds=1),
    doc="Chapter 01: one DB network learns 8x8 bars; its spikes and fields",
    smoke=dict(n_train=200, n_show=2),
)

BARS = Preset(
    "dendritic.fig4_bars",
    ci=dict(
        p_corr=[0.0, 0.3, 0.5, 0.7, 0.9], seeds=5, n_train=24_000, test_every=6000, n_test=200,
        eta_F=1e-3, eta_D=1e-3, eta_W=2e-3, eta_b=1e-2, eta_sigma=2e-6,
        sigma_final=0.316, rho=0.015, dt=1.0,
    ),
    full=dict(
        p_corr=[round(0.05 * i, 2) for i in range(21)], seeds=50, n_train=1_000_000,
        test_every=50_000, n_test=500,
        eta_F=5e-5, eta_D=5e-5, eta_W=1e-4, eta_b=1e-2, eta_sigma=7e-8,
        sigma_final=0.316, rho=0.015, dt=1.0,
    ),
    doc="Fig 4B: SB vs analytic DB on 8x8 bars with correlated pairs, 16 neurons",
    smoke=dict(p_corr=[0.0, 0.7], seeds=2, n_train=400, test_every=200, n_test=20),
)  # fmt: skip

MNIST = Preset(
    "dendritic.fig3_mnist",
    ci=dict(
        dt=0.5, n_train=3000, test_every=500, n_test=200, seeds=5,
        eta_F_db=9e-4, eta_F_sb=2.4e-4, eta_W=6e-4, eta_D=1e-4, eta_b=7e-3,
        sigma=0.316, rho=0.015, phase2_W=0, phase3_F=0, eta_W_phase2=6e-4,
    ),
    full=dict(
        dt=0.1, n_train=210_000, test_every=2000, n_test=1000, seeds=5,
        eta_F_db=1.5e-5, eta_F_sb=4e-6, eta_W=3e-5, eta_D=0.5e-5, eta_b=7e-3,
        sigma=0.316, rho=0.015, phase2_W=60_000, phase3_F=90_000, eta_W_phase2=2e-5,
    ),
    doc="Fig 3: MNIST digits 0-2 at 16x16, 9 neurons, SB vs DB (phases: D and b only, "
    "then inhibition, then input weights)",
    smoke=dict(dt=1.0, n_train=100, test_every=50, n_test=20, seeds=1),
)  # fmt: skip

DELAYS = Preset(
    "dendritic.fig6_delays",
    ci=dict(
        dts=[0.5, 1.0, 3.0], n_train=3000, test_every=1000, n_test=200, seeds=5,
        eta_F_db=9e-4, eta_F_sb=2.4e-4, eta_W=6e-4, eta_D=1e-4, eta_b=7e-3,
        sigma=0.316, rho=0.015, phase2_W=0, phase3_F=0, eta_W_phase2=6e-4,
    ),
    full=dict(
        dts=[0.1, 3.0], n_train=210_000, test_every=2000, n_test=1000, seeds=5,
        eta_F_db=1.5e-5, eta_F_sb=4e-6, eta_W=3e-5, eta_D=0.5e-5, eta_b=7e-3,
        sigma=0.316, rho=0.015, phase2_W=60_000, phase3_F=90_000, eta_W_phase2=2e-5,
    ),
    doc="Fig 6 (PNAS 5B): MNIST 0-2 with transmission delay = dt",
    smoke=dict(dts=[1.0, 3.0], n_train=100, test_every=50, n_test=20, seeds=1),
)  # fmt: skip

# Natural scenes (Figs 5 and 6A): patch data, learning rates, annealing and starting weights
# shared by the size scan and the delay scan; the authors lower the rates after
# ``slow_down_at`` patterns (20,000 s; never reached at ci scale).
_SCENES_CI = dict(
    seeds=5, pop_rate_hz=1000.0, n_test=100, n_patches=20000, eta_F=4e-4, eta_D=4e-4, eta_W=1e-3,
    eta_b=6e-3, eta_sigma=2e-5, sigma_final=0.36, F_scale=0.1, slow_down_at=10**9,
)  # fmt: skip
_SCENES_FULL = dict(
    seeds=5, pop_rate_hz=1000.0, n_test=500, n_patches=316_840, eta_F=4e-5, eta_D=4e-5, eta_W=1e-4,
    eta_b=6e-3, eta_sigma=7e-8, sigma_final=0.36, F_scale=0.0, slow_down_at=200_000,
)  # fmt: skip

# The reduced protocol of Figs 5 and 6A (``--scale reduced``): the full protocol (hundreds of
# CPU hours) shortened to a few CPU hours (measured: 2.2 for Fig 5, 1.2 for Fig 6A), at the
# paper's dt = 0.1 ms (Fig 5: 200, 100 and 50 neurons; Fig 6A: 80 neurons, not 200), with
# the ci learning rates, annealing and starting weights, training for 300 patterns per
# neuron (three times the ci's) and 200 test patches.
_SCENES_REDUCED = dict(
    n_test=200, **{k: _SCENES_CI[k] for k in ("eta_F", "eta_D", "eta_W", "eta_sigma", "F_scale",
                                               "slow_down_at")},
)  # fmt: skip

# Fig 5: a network of n_z neurons trains for max(n_train, n_train_per_neuron * n_z)
# patterns with n_tests tests. At ci scale the training grows with the number of neurons,
# so that every neuron fires about as many spikes (the population rate is fixed).
SCENES = Preset(
    "dendritic.fig5_scenes",
    ci=dict(
        n_z=[20, 40, 80], dt=0.25, n_train=0, n_train_per_neuron=100, n_tests=4,
        **_SCENES_CI,
    ),
    full=dict(
        n_z=[200, 133, 100, 80, 67, 57, 50, 44, 40], dt=0.1, n_train=1_500_000,
        n_train_per_neuron=0, n_tests=100, **_SCENES_FULL,
    ),
    doc="Fig 5 (PNAS 4D): natural-image patches, loss vs number of neurons at 1000 Hz",
    smoke=dict(n_z=[8, 16], dt=1.0, n_train_per_neuron=10, n_tests=2, n_test=20, seeds=2,
               n_patches=2000),
    reduced=dict(n_z=[200, 100, 50], n_train=0, n_train_per_neuron=300, n_tests=10,
                 **_SCENES_REDUCED),
)  # fmt: skip

VARIANTS_S3 = Preset(
    "dendritic.figS3_variants",
    ci=dict(
        p_corr=0.7, side=4, seeds=5, n_train=8000, test_every=2000, n_test=200, dt=1.0,
        rho=0.015, sigma_final=0.316, eta_sigma=2e-6, eta_D=1e-3, eta_b=1e-2, mult=20.0,
        F_on=500,
    ),
    full=dict(
        p_corr=0.7, side=4, seeds=10, n_train=1_000_000, test_every=50_000, n_test=500,
        dt=1.0, rho=0.015, sigma_final=0.316, eta_sigma=7e-8, eta_D=5e-5, eta_b=1e-2,
        mult=1.0, F_on=10_000,
    ),
    doc="Fig S3: learned DB variants vs analytic DB and SB on 4x4 bars, p = 0.7 (the decay "
    "variant learns F from pattern F_on on)",
    smoke=dict(seeds=1, n_train=540, n_test=10, dt=2.0),
)  # fmt: skip

DELAYS_SCENES = Preset(
    "dendritic.fig6a_scenes_delays",
    ci=dict(n_z=40, dts=[0.1, 0.25, 0.5, 1.0, 2.0], n_train=2000, test_every=500, **_SCENES_CI),
    full=dict(
        n_z=200,
        dts=[0.1, 0.125, 0.15, 0.175, 0.2, 0.225, 0.25, 0.275, 0.3,
             0.4, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0],
        n_train=1_500_000, test_every=15_000, **_SCENES_FULL,
    ),
    doc="Fig 6A (PNAS 5A): natural-image patches, loss vs transmission delay (= dt)",
    smoke=dict(n_z=16, dts=[1.0, 2.0], n_train=100, test_every=50, n_test=20, n_patches=2000,
               seeds=2),
    reduced=dict(n_z=80, dts=[0.1, 0.25, 0.5, 1.0, 2.0, 3.0], n_train=24_000, test_every=3000,
                 **_SCENES_REDUCED),
)  # fmt: skip

# Fig S2. Raw S2 rates per variant, in the order of ``variants`` (the authors' figS2
# scripts); ``mult_F``
# scales every eta_F, ``mult`` every eta_W, eta_D and eta_Fbar (eta_b is not scaled), and
# ``mult_F_decay`` the decay variant's eta_F once more (ci: it fires at 5 Hz, a quarter of
# the others' rate, and its F rule is driven by its spikes). The decay variant runs at
# ``rho_decay`` with weight decay ``decay`` and learns F only from pattern ``F_on`` on;
# ``F0`` is the constant starting F of each variant.
VARIANTS_S2 = Preset(
    "dendritic.figS2_variants",
    ci=dict(
        variants=("DB", "SB", "simultaneous", "slow", "decay"),
        eta_F=(5e-6, 5e-6, 2e-6, 4e-7, 2e-6), eta_W=(0.0, 1e-5, 6e-6, 4e-5, 6e-5),
        eta_D=(5e-6, 5e-6, 3e-6, 5e-6, 3e-6), eta_b=(5e-3, 5e-3, 3e-3, 5e-3, 3e-3),
        eta_Fbar=4e-5, F0=(0.0, 0.0, 0.0, 0.001, 0.001), rho=0.02, rho_decay=0.005,
        decay=0.005, sigma=0.316, dt=0.1, seeds=5, n_train=3000, test_every=500, n_test=200,
        F_on=125, mult_F=40.0, mult=40.0, mult_F_decay=4.0,
    ),
    full=dict(
        variants=("DB", "SB", "simultaneous", "slow", "decay"),
        eta_F=(5e-6, 5e-6, 2e-6, 4e-7, 2e-6), eta_W=(0.0, 1e-5, 6e-6, 4e-5, 6e-5),
        eta_D=(5e-6, 5e-6, 3e-6, 5e-6, 3e-6), eta_b=(5e-3, 5e-3, 3e-3, 5e-3, 3e-3),
        eta_Fbar=4e-5, F0=(0.0, 0.0, 0.0, 0.001, 0.001), rho=0.02, rho_decay=0.005,
        decay=0.005, sigma=0.316, dt=0.1, seeds=5, n_train=120_000, test_every=2000,
        n_test=1000, F_on=5000, mult_F=1.0, mult=1.0, mult_F_decay=1.0,
    ),
    doc="Fig S2: learned DB variants vs analytic DB and SB on MNIST 0-2 at 16x16, 9 neurons",
    smoke=dict(dt=1.0, seeds=1, n_train=100, test_every=50, n_test=20, F_on=25),
)  # fmt: skip
