"""Rossbroich & Zenke (NeurIPS 2023): dis-inhibitory circuits control the sign of plasticity.

Part III of the book (``book/disinhibition/``). File names cited in the docstrings
(``src/core/model.py``, ``src/models/dale/trainer.py``, ``main.py``, ``conf/``, ``notebooks/``)
are those of the authors' repository ``fmi-basel/disinhibitory-control``. Modules:

* :mod:`.activation`: soft-ReLU with exact and linearised inverse;
* :mod:`.network`: E/I microcircuit parameters, controller, targets, losses;
* :mod:`.ode`: Runge-Kutta integrators with the steady-state test;
* :mod:`.dynamics`: vector field, ODE and fixed-point steady states;
* :mod:`.feedback`: feedback weights from the open-loop Jacobian;
* :mod:`.learning`: exact-inv / lin-thresh rules, Adam, BP baseline;
* :mod:`.training`: resumable training loop and open-loop evaluation;
* :mod:`.single_unit`: single-unit plasticity curves (Fig 3, S1, S2);
* :mod:`.student_teacher`: online student-teacher learning (Fig 4);
* :mod:`.presets`: ``ci`` / ``full`` parameter sets;
* :mod:`.protocols`: the registered experiments (Table 1, Fig 4, gradient alignment).
"""

from .activation import SOFTPLUS, SoftReLU
from .dynamics import (
    closed_loop_steady_state,
    control_signal,
    feedback_drive,
    integrate_network,
    open_loop_steady_state,
    solve_layer,
    vector_field,
)
from .feedback import feedback_weights, feedforward_jacobians
from .learning import (
    RULES,
    Adam,
    bp_forward,
    bp_loss_and_grads,
    cosine,
    hidden_errors,
    lin_thresh_point,
    local_gradients,
    open_loop_gradient,
)
from .network import (
    LeakyPI,
    MicrocircuitConfig,
    Params,
    State,
    cross_entropy,
    init_params,
    mse,
    output_error,
    soft_targets,
    softmax,
)
from .ode import ODEInfo, integrate
from .presets import ALIGNMENT, FIG4, TABLE1
from .single_unit import FIG3_ACT, unit_steady_state
from .student_teacher import StudentTeacher, StudentTeacherConfig
from .training import TRAINERS, Fit, Trainer, digits_784, fit, load_dataset

__all__ = [
    "ALIGNMENT",
    "FIG3_ACT",
    "FIG4",
    "Fit",
    "TABLE1",
    "StudentTeacher",
    "StudentTeacherConfig",
    "unit_steady_state",
    "RULES",
    "SOFTPLUS",
    "TRAINERS",
    "Adam",
    "LeakyPI",
    "MicrocircuitConfig",
    "ODEInfo",
    "Params",
    "SoftReLU",
    "State",
    "Trainer",
    "bp_forward",
    "bp_loss_and_grads",
    "closed_loop_steady_state",
    "control_signal",
    "cosine",
    "cross_entropy",
    "digits_784",
    "feedback_drive",
    "feedback_weights",
    "feedforward_jacobians",
    "fit",
    "hidden_errors",
    "init_params",
    "integrate",
    "integrate_network",
    "lin_thresh_point",
    "load_dataset",
    "local_gradients",
    "mse",
    "open_loop_gradient",
    "open_loop_steady_state",
    "output_error",
    "soft_targets",
    "softmax",
    "solve_layer",
    "vector_field",
]
