"""Online student-teacher learning with time-varying input (Fig 4;
authors' ``notebooks/Figure 4.ipynb``).

Two-layer E/I networks (30 inputs, 20 hidden E/I pairs, 2 output E/I pairs) learn
*while* they run: weights ``W``, biases ``b`` and feedback weights ``Q`` are part of
the ODE state. A teacher network with random weights provides the target ``y*``;
the students' leaky PI controller dis-inhibits their I units::

    tau_E du^E_l = -u^E_l + W_l^T r_{l-1} + b_l - phi_I(u^I_l)
    tau_I du^I_l = -u^I_l + phi_E(u^E_l) - Q_l^T c
    y = phi_E(u^E_2),  e = y* - y,  c = k_p e + k_i c_int,  tau_C dc_int = e - lambda c_int
    tau_Q dQ_l = -Q_l + Jac_l   (Frobenius-normalised to Q_norm)
    tau_W dW_l = r_{l-1} (x) err_l,  tau_W db_l = err_l

All networks share one batched state with a leading axis ``N`` of networks; per-network
flags switch the controller, weight plasticity and feedback learning on or off, and
choose the rule (``exact`` or ``approx`` = lin-thresh). Chapter ``05_fig4_student_teacher.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..backend import HostRNG, asarray, default_dtype, get_xp, host, namespace
from ..errors import ConfigurationError
from .activation import SoftReLU
from .feedback import normaliser
from .network import check_positive
from .ode import integrate

__all__ = ["StudentTeacherConfig", "StudentTeacher", "SinusoidInput"]

VARIANTS = ("notebook", "mlp")


@dataclass(frozen=True)
class StudentTeacherConfig:
    """Parameters of the Fig 4 notebook (authors' ``notebooks/Figure 4.ipynb``;
    presumably the paper's Table S1).

    ``variant="notebook"`` evaluates the rules as the authors' Fig 4 notebook does
    (``phi_E'`` at ``r^E``; lin-thresh uses the Taylor inverse of ``phi_E`` at ``y0`` applied
    to ``u^I``); ``"mlp"`` uses the MLP trainer's forms (``phi_E'(u^E)``; Taylor inverse of
    ``phi_I`` applied to ``r^I``).
    """

    act_E: SoftReLU = SoftReLU(5.0, 1.0, 3.0)
    act_I: SoftReLU = SoftReLU(1.0, 1.0, 3.0)
    k_p: float = 30.0
    k_i: float = 15.0
    lamda: float = 0.5
    tau_E: float = 20e-3
    tau_I: float = 5e-3
    tau_C: float = 100e-3
    tau_W: float = 60.0
    tau_Q: float = 30.0
    Q_norm: float = 7.5
    y0: float = 0.5
    sizes: tuple = (30, 20, 2)
    w_scale: float = 2.0
    epoch_T: float = 5.0
    rtol: float = 1e-3
    atol: float = 1e-6
    dtmin: float = 1e-4
    dtmax: float = 1e-2
    variant: str = "notebook"

    def __post_init__(self):
        check_positive("StudentTeacherConfig", sizes=tuple(self.sizes), tau_E=self.tau_E,
                       tau_I=self.tau_I, tau_C=self.tau_C, tau_W=self.tau_W, tau_Q=self.tau_Q,
                       epoch_T=self.epoch_T, dtmin=self.dtmin, dtmax=self.dtmax)
        if len(self.sizes) != 3:
            raise ConfigurationError(f"sizes must be (n_in, n_hidden, n_out), got {self.sizes}")
        if self.variant not in VARIANTS:
            raise ConfigurationError(f"unknown variant {self.variant!r}; choose one of {VARIANTS}")


@dataclass
class SinusoidInput:
    """``x_i(t) = A_i sin(2 pi f_i t + phase_i)`` with ``A ~ U(0.1, 1)``, ``f ~ U(0.1, 2)`` Hz,
    ``phase ~ U(0, pi)`` (the notebook interpolates the same signal on a 1 ms grid)."""

    amp: object
    freq: object
    phase: object

    @classmethod
    def random(cls, n, seed, xp=None, dtype=None):
        check_positive("SinusoidInput.random", n=n)
        xp = xp or get_xp()
        g = HostRNG(seed, xp=xp)
        return cls(
            g.uniform(0.1, 1.0, n, dtype=dtype),
            g.uniform(0.1, 2.0, n, dtype=dtype),
            g.uniform(0.0, math.pi, n, dtype=dtype),
        )

    def __call__(self, t):
        xp = namespace(self.amp)
        return self.amp * xp.sin(2 * math.pi * t * self.freq + self.phase)


_KEYS = (
    "tuE1",
    "tuI1",
    "tuE2",
    "tuI2",
    "uE1",
    "uI1",
    "uE2",
    "uI2",
    "c_int",
    "W1",
    "b1",
    "W2",
    "b2",
    "Q1",
    "Q2",
)


def _random_weights(gen, sizes, scale):
    n0, n1, n2 = sizes
    return {
        "W1": gen.normal(0, 1, (n0, n1)) * scale / math.sqrt(n0),
        "b1": gen.normal(0, 1, (n1,)) * scale / math.sqrt(n1),
        "W2": gen.normal(0, 1, (n1, n2)) * scale / math.sqrt(n1),
        "b2": gen.normal(0, 1, (n2,)) * scale / math.sqrt(n2),
    }


@dataclass
class StudentTeacher:
    """A teacher and its students (default: one ``exact`` and one ``approx``, same initial
    weights) plus, for each student, an open-loop evaluation copy.

    ``seed`` is an int or a sequence of seeds: each seed draws its own teacher, student
    weights and input (as a run of that seed alone), and all are simulated as one batch.
    Networks (batch axis) are ``[*students, *eval copies]`` with students ordered seed-major
    (``seed 0: rules..., seed 1: rules...``); each network carries its seed's teacher and
    input. The solver's step size is shared by the batch, so a batch of seeds agrees with
    separate runs to the solver's tolerance, not bitwise.
    """

    cfg: StudentTeacherConfig = field(default_factory=StudentTeacherConfig)
    rules: tuple = ("exact", "approx")
    seed: int = 2
    xp: object = None
    t: float = 0.0
    state: dict = None
    history: dict = None

    def __post_init__(self):
        if not self.rules:
            raise ConfigurationError("StudentTeacher needs at least one rule ('exact', 'approx')")
        for r in self.rules:
            if r not in ("exact", "approx"):
                raise ConfigurationError(f"unknown rule {r!r}; choose 'exact' or 'approx'")
        seeds = [int(self.seed)] if isinstance(self.seed, int) else [int(v) for v in self.seed]
        if not seeds:
            raise ConfigurationError("StudentTeacher needs at least one seed")
        self.seeds = seeds
        xp = self.xp = self.xp or get_xp()
        dt = default_dtype(xp)
        n_s = len(self.rules)
        self.n_students = n_st = n_s * len(seeds)
        self.N = N = 2 * n_st
        teachers, students, inputs = [], [], []
        for sd in seeds:
            gen = host.random.default_rng(sd)
            teachers.append(_random_weights(gen, self.cfg.sizes, self.cfg.w_scale))
            students.append(_random_weights(gen, self.cfg.sizes, self.cfg.w_scale))
            inputs.append(SinusoidInput.random(self.cfg.sizes[0], sd + 1, xp=host))

        def per_network(values):
            """``(N, ...)``: network ``j`` gets the value of its seed."""
            k = host.asarray([j % n_st // n_s for j in range(N)])
            return asarray(host.stack(values)[k], dtype=dt, xp=xp)

        self.input = SinusoidInput(*(per_network([getattr(i, a) for i in inputs])
                                     for a in ("amp", "freq", "phase")))
        self.teacher = {k: per_network([t[k] for t in teachers]) for k in teachers[0]}
        n0, n1, n2 = self.cfg.sizes
        z = lambda n: xp.zeros((N, n), dtype=dt)
        s = {
            "tuE1": z(n1),
            "tuI1": z(n1),
            "tuE2": z(n2),
            "tuI2": z(n2),
            "uE1": z(n1),
            "uI1": z(n1),
            "uE2": z(n2),
            "uI2": z(n2),
            "c_int": z(n2),
        }
        s.update({k: per_network([w[k] for w in students]) for k in students[0]})
        Q1, Q2 = self.jacobians(s)
        s["Q1"], s["Q2"] = Q1, Q2
        self.state = s
        self.exact = asarray([1.0 if r == "exact" else 0.0 for r in self.rules] * (2 * len(seeds)),
                             dt, xp)
        self.history = {"OL": [], "CL": [], "H": [], "n_steps": []}

    # ------------------------------------------------------------ pickling
    def __getstate__(self):
        """Everything but the array namespace (a module does not pickle): a pickled
        ``StudentTeacher`` resumes bitwise (the checkpoints of Fig 4's experiment)."""
        d = dict(self.__dict__)
        d["xp"] = None
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self.xp = namespace(self.state["W1"])

    # ------------------------------------------------------------ dynamics
    def jacobians(self, s):
        """Normalised ``Jac_1`` ``(N, n2, n1)`` and ``Jac_2`` ``(N, n2, n2)``
        (authors' ``notebooks/Figure 4.ipynb``)."""
        xp = self.xp
        c = self.cfg
        d2 = c.act_E.deriv(s["uE2"])
        g2 = c.act_I.deriv(s["uI2"])
        n2 = d2.shape[-1]
        J2 = xp.eye(n2, dtype=d2.dtype)[None, :, :] * (d2 * g2)[:, None, :]
        g1 = c.act_E.deriv(s["uE1"]) * c.act_I.deriv(s["uI1"])
        J1 = d2[:, :, None] * s["W2"].mT * g1[:, None, :]
        # a zero Jacobian (all output units silent) gives zero feedback, not 0/0 = NaN
        return [J * normaliser(J, c.Q_norm) for J in (J1, J2)]

    def _errors(self, rE, uE, uI):
        c = self.cfg
        if c.variant == "notebook":
            gain = c.act_E.deriv(rE)
            thr_approx = c.act_E.inv_lin(uI, c.y0)
        else:
            gain = c.act_E.deriv(uE)
            thr_approx = c.act_I.inv_lin(c.act_I(uI), c.y0)
        ex = self.exact[:, None]
        thr = ex * uI + (1.0 - ex) * thr_approx
        return (rE - thr) * gain

    def _layer(self, x, W, b, uE, uI):
        xp = self.xp
        a = xp.matmul(x[:, None, :], W)[:, 0, :] + b
        return a, self.cfg.act_E(uE)

    def control(self, s, flags):
        """Controller output ``c`` (zero where the controller is off) and the target ``y*``."""
        c = self.cfg
        y_star = c.act_E(s["tuE2"])
        e = y_star - c.act_E(s["uE2"])
        return flags["control"][:, None] * (c.k_p * e + c.k_i * s["c_int"]), y_star, e

    def vector_field(self, t, s, flags):
        xp = self.xp
        c = self.cfg
        x = self.input(t)  # (N, n_in): each network sees its seed's input
        d = {}
        # teacher (open loop, fixed weights)
        T = self.teacher
        a1, r1 = self._layer(x, T["W1"], T["b1"], s["tuE1"], s["tuI1"])
        d["tuE1"] = (-s["tuE1"] + a1 - c.act_I(s["tuI1"])) / c.tau_E
        d["tuI1"] = (-s["tuI1"] + r1) / c.tau_I
        a2, r2 = self._layer(r1, T["W2"], T["b2"], s["tuE2"], s["tuI2"])
        d["tuE2"] = (-s["tuE2"] + a2 - c.act_I(s["tuI2"])) / c.tau_E
        d["tuI2"] = (-s["tuI2"] + r2) / c.tau_I
        # students
        ctrl, _, e = self.control(s, flags)
        q1 = xp.matmul(ctrl[:, None, :], s["Q1"])[:, 0, :]
        q2 = xp.matmul(ctrl[:, None, :], s["Q2"])[:, 0, :]
        a1, r1 = self._layer(x, s["W1"], s["b1"], s["uE1"], s["uI1"])
        d["uE1"] = (-s["uE1"] + a1 - c.act_I(s["uI1"])) / c.tau_E
        d["uI1"] = (-s["uI1"] + r1 - q1) / c.tau_I
        a2, r2 = self._layer(r1, s["W2"], s["b2"], s["uE2"], s["uI2"])
        d["uE2"] = (-s["uE2"] + a2 - c.act_I(s["uI2"])) / c.tau_E
        d["uI2"] = (-s["uI2"] + r2 - q2) / c.tau_I
        d["c_int"] = flags["control"][:, None] * (e - c.lamda * s["c_int"]) / c.tau_C
        eta = flags["plastic"] / c.tau_W
        err1 = self._errors(r1, s["uE1"], s["uI1"]) * eta[:, None]
        err2 = self._errors(r2, s["uE2"], s["uI2"]) * eta[:, None]
        d["W1"] = x[:, :, None] * err1[:, None, :]
        d["b1"] = err1
        d["W2"] = r1[:, :, None] * err2[:, None, :]
        d["b2"] = err2
        J1, J2 = self.jacobians(s)
        kq = flags["learn_Q"][:, None, None] / c.tau_Q
        d["Q1"] = kq * (J1 - s["Q1"])
        d["Q2"] = kq * (J2 - s["Q2"])
        return d

    def _flags(self, control, plastic, learn_Q):
        xp = self.xp
        mk = lambda v: asarray(v, default_dtype(xp), xp)
        return {"control": mk(control), "plastic": mk(plastic), "learn_Q": mk(learn_Q)}

    def run(self, T, flags, on_step=None):
        """Integrate all networks for ``T`` seconds from the current time with ``flags``."""
        keys = _KEYS
        y0 = [self.state[k] for k in keys]

        def f(t, y):
            d = self.vector_field(t, dict(zip(keys, y)), flags)
            return [d[k] for k in keys]

        cb = None
        if on_step is not None:
            cb = lambda t0, t1, ya, yb: on_step(t0, t1, dict(zip(keys, ya)), dict(zip(keys, yb)))
        c = self.cfg
        y, info = integrate(
            f,
            y0,
            self.t + T,
            t0=self.t,
            method="dopri5",
            dt0=1e-3,
            rtol=c.rtol,
            atol=c.atol,
            dtmin=c.dtmin,
            dtmax=c.dtmax,
            steady_state=False,
            max_steps=10**7,
            on_step=cb,
        )
        self.state = dict(zip(keys, y))
        self.t = info.t
        return info

    # ------------------------------------------------------------ protocol
    def burn_in(self, epochs=4):
        """Epochs in which the students learn only ``Q`` (no control, no weight plasticity)."""
        n = self.N
        for _ in range(epochs):
            self.run(self.cfg.epoch_T, self._flags([0.0] * n, [0.0] * n, [1.0] * n))

    def train_epoch(self):
        """One epoch: students learn in closed loop; their copies, frozen at the start of
        the epoch, run in open loop. Appends time-averaged OL/CL MSE and least-control H."""
        xp = self.xp
        n_s = self.n_students
        s = self.state
        for k in ("uE1", "uI1", "uE2", "uI2", "c_int", "W1", "b1", "W2", "b2", "Q1", "Q2"):
            s[k] = xp.concat([s[k][:n_s, ...], s[k][:n_s, ...]], axis=0)
        s["c_int"] = xp.concat([s["c_int"][:n_s, ...], 0.0 * s["c_int"][:n_s, ...]], axis=0)
        on, off = [1.0] * n_s, [0.0] * n_s
        flags = self._flags(on + off, on + off, on + off)
        acc = {"mse": 0.0, "H": 0.0}

        def integrand(st):
            ctrl, y_star, _ = self.control(st, flags)
            y = self.cfg.act_E(st["uE2"])
            mse = xp.sum((y - y_star) ** 2, axis=-1)
            q1 = xp.matmul(ctrl[:, None, :], st["Q1"])[:, 0, :]
            q2 = xp.matmul(ctrl[:, None, :], st["Q2"])[:, 0, :]
            return mse, xp.sum(q1 * q1, axis=-1) + xp.sum(q2 * q2, axis=-1)

        cache = {}

        def on_step(t0, t1, a, b):  # trapezoidal time averages
            ma, ha = cache.pop(t0) if t0 in cache else integrand(a)
            mb, hb = integrand(b)
            cache[t1] = (mb, hb)
            acc["mse"] = acc["mse"] + 0.5 * (t1 - t0) * (ma + mb)
            acc["H"] = acc["H"] + 0.5 * (t1 - t0) * (ha + hb)

        T = self.cfg.epoch_T
        info = self.run(T, flags, on_step)
        mse = _to_floats(acc["mse"] / T)
        H = _to_floats(acc["H"] / T)
        self.history["CL"].append(mse[:n_s])
        self.history["OL"].append(mse[n_s:])
        self.history["H"].append(H[:n_s])
        self.history["n_steps"].append(info.n_steps)
        return info

    def traces(self, T=None, t_switch=None):
        """Output traces of the students for one epoch without plasticity: open loop until
        ``t_switch`` (default ``T / 2``), closed loop after (the notebook's ``eval_combined``).
        Does not advance the state. Returns host arrays ``t``, ``y`` ``(steps, N, 2)``, ``y*``
        (students first, as in the network axis)."""
        from ..backend import to_numpy

        T = T or self.cfg.epoch_T
        t_switch = T / 2 if t_switch is None else t_switch
        saved_state, saved_t = dict(self.state), self.t
        rec = {"t": [], "y": [], "y_star": []}

        def on_step(t0, t1, a, b):
            rec["t"].append(t1 - saved_t)
            rec["y"].append(to_numpy(self.cfg.act_E(b["uE2"])))
            rec["y_star"].append(to_numpy(self.cfg.act_E(b["tuE2"])))

        n = self.N
        self.run(t_switch, self._flags([0.0] * n, [0.0] * n, [0.0] * n), on_step)
        self.run(T - t_switch, self._flags([1.0] * n, [0.0] * n, [0.0] * n), on_step)
        self.state, self.t = saved_state, saved_t
        return {k: host.asarray(v) for k, v in rec.items()}


def _to_floats(a):
    from ..backend import to_numpy

    return [float(v) for v in to_numpy(a)]
