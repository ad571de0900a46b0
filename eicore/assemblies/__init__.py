"""Part I: learning E/I assemblies (Mackwood, Naumann & Sprekeler, eLife 2021).

* :mod:`.network` - stimuli, afferents, initial connectivity (Eqs 1-2, Table 1)
* :mod:`.dynamics` - batched steady-state solver of the rate dynamics (Eq 1)
* :mod:`.plasticity` - local (Eq 8) and gradient (Eq 15) rules, Adam, update angle (Eq 7)
* :mod:`.experiment` - resumable training with knock-outs, sweeps, perturbations (Fig 4)
* :mod:`.protocols` - the registered experiments (``assemblies.train_local``,
  ``assemblies.train_gradient``, ``assemblies.perturb``) and the loaders the chapters use
* :mod:`.analysis` - selectivity, sampling tests, current similarity, influence (Figs 1-4)
* :mod:`.presets` - ``ci`` / ``full`` parameters

Chapters: ``book/assemblies/``.
"""

from __future__ import annotations

from .dynamics import (
    authors_steady_state,
    cold_start,
    euler_reference,
    residual,
    steady_state,
)
from .experiment import (
    CONDITIONS,
    Sweep,
    Trainer,
    TrainingHistory,
    learning_rates,
    perturbation_influence,
    response_sweep,
    sweep_from_states,
    train,
)
from .network import (
    Network,
    afferent_input,
    build_network,
    preferred_stimuli,
    softplus,
    softplus_inverse,
    stack_networks,
    stimulus_grid,
)
from .plasticity import (
    Adam,
    adjoint_direct,
    adjoint_iterative,
    apply_local,
    gradient_updates,
    local_updates,
    refresh_weights,
    sigmoid,
    softplus_prime,
    update_angle,
)
from .presets import NETWORK, PERTURB, SAMPLING, TRAIN_GRADIENT, TRAIN_LOCAL
from .protocols import perturbation_experiment, trained_conditions

__all__ = [
    "CONDITIONS", "NETWORK", "PERTURB", "SAMPLING", "TRAIN_GRADIENT", "TRAIN_LOCAL",
    "Adam", "Network", "Sweep", "Trainer", "TrainingHistory",
    "adjoint_direct", "adjoint_iterative", "afferent_input", "apply_local", "build_network",
    "authors_steady_state", "cold_start", "euler_reference", "gradient_updates", "learning_rates",
    "local_updates",
    "perturbation_experiment", "perturbation_influence", "preferred_stimuli", "refresh_weights",
    "residual",
    "response_sweep", "sigmoid", "softplus", "softplus_inverse", "softplus_prime",
    "stack_networks", "steady_state", "stimulus_grid", "sweep_from_states", "train",
    "trained_conditions",
    "update_angle",
]
