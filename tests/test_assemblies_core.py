"""Unit tests of eicore.assemblies against independent computations (Part I)."""

from __future__ import annotations

import array_api_compat.numpy as xnp
import array_api_strict as xps
import numpy as np
import pytest

from eicore.assemblies import (
    NETWORK,
    Adam,
    adjoint_direct,
    adjoint_iterative,
    apply_local,
    build_network,
    cold_start,
    euler_reference,
    gradient_updates,
    local_updates,
    preferred_stimuli,
    refresh_weights,
    softplus,
    softplus_inverse,
    stack_networks,
    steady_state,
    stimulus_grid,
    train,
)
from eicore.assemblies.experiment import learning_rates, response_sweep
from eicore.backend import get_xp, to_numpy
from eicore.errors import ConfigurationError, ConvergenceError, ShapeError

SMALL = dict(n_stim=4, n_pref=3, NI=8, J_EE=1.0)  # 64 stimuli, NE = 27, NI = 8; weaker E-E


#: The active backend (EICORE_BACKEND), for tests that run the model on it.
XB = get_xp()

def small(seed=3, xp=xnp, dtype=None, **kw):
    return build_network(NETWORK.get(**SMALL), seed, xp=xp, dtype=dtype, **kw)


def solve(net, s, tol=1e-11):
    xp = net.xp
    h, _ = steady_state(net.full_matrix(), net.drive()[s : s + 1],
                        cold_start(net.B, 1, net.NE, net.NI, xp, net.W_EE.dtype), net.tau(),
                        dt=10.0, tol=tol, max_steps=50000)
    return h[:, 0, :]


# ------------------------------------------------------------------ network


def test_network_matches_table1():
    net = build_network(NETWORK.get(), 0)
    W_EE = to_numpy(net.W_EE)[0]
    assert net.NE == 512 and net.NI == 64 and net.S == 1728
    assert np.allclose(W_EE.sum(1), 2.0, atol=1e-4)
    assert abs((W_EE > 0).mean() - 0.6) < 0.01
    assert np.allclose(to_numpy(net.W_IE)[0].sum(1), 5.0, atol=1e-3)
    assert np.allclose(to_numpy(net.W_EI)[0].sum(1), 1.0, atol=1e-4)
    assert (to_numpy(net.z_IE)[0].sum(1) == 307).all()
    I = to_numpy(net.I_E)
    assert abs(I.min() - 5.0) < 1e-4 and abs(I.max() - 55.0) < 1e-3
    # W_EE grows with the signal correlation of the afferents (Eq 2)
    c = np.corrcoef(I.T.astype(np.float64))
    kept = W_EE > 0
    assert c[kept].min() >= c[~kept & ~np.eye(512, dtype=bool)].max() - 1e-6


def test_softplus_round_trip():
    w = np.array([1e-4, 0.01, 0.5, 3.0, 40.0], dtype=np.float64)
    for alpha in (1.0, 1.9, 3.07):
        v = softplus_inverse(w, alpha)
        assert np.allclose(softplus(v, alpha), w, rtol=1e-10)
    v = np.linspace(-50, 50, 11)
    assert np.allclose(softplus(v, 2.0), np.log1p(np.exp(2.0 * v)) / 2.0)


# ------------------------------------------------------------------ dynamics


def test_solver_matches_small_step_euler_small_network():
    net = small(dtype=xnp.float64)
    b = net.drive()
    h0 = cold_start(1, net.S, net.NE, net.NI, xnp, xnp.float64)
    h, _ = steady_state(net.full_matrix(), b, h0, net.tau(), tol=1e-4)
    h_ref = euler_reference(net.full_matrix(), b, h0, net.tau(), dt=0.5, T=16000.0)
    assert np.abs(np.maximum(h, 0) - np.maximum(h_ref, 0)).max() < 0.05


def test_solver_matches_small_step_euler_full_network():
    net = build_network(NETWORK.get(), 1)
    stim = np.array([0, 100, 777, 1500])
    b = net.drive(XB.asarray(stim))
    h0 = cold_start(1, 4, net.NE, net.NI, XB, XB.float32)
    h, _ = steady_state(net.full_matrix(), b, h0, net.tau(), tol=0.005)
    h_ref = euler_reference(net.full_matrix(), b, h0, net.tau(), dt=1.0, T=3000.0)
    h, h_ref = to_numpy(h), to_numpy(h_ref)
    assert np.abs(np.maximum(h, 0) - np.maximum(h_ref, 0)).max() < 0.05


def test_transient_rise_of_the_residual_does_not_freeze_the_solver():
    """A stable linear two-unit network whose largest residual rises for about 200 ms on its
    way to the fixed point (a slow unit drives a faster one): the step is floored at
    ``min_dt``, and the solve reaches the closed-form fixed point ``(I - M)^-1 b``. Without the
    floor the stall rule halves the step until the state freezes."""
    M = np.array([[0.9, 0.0], [0.5, 0.8]])  # all units stay active: r = h
    tau = np.array([50.0, 25.0])
    h_star = np.array([100.0, 100.0])
    b = ((np.eye(2) - M) @ h_star)[None]
    h0 = (h_star + np.linalg.solve(M - np.eye(2), np.array([1.0, 0.0])))[None, None]
    kw = dict(dt=2.0, tol=0.05, max_steps=10000)
    h, _ = steady_state(M[None], b, h0, tau, min_dt=1.0, **kw)
    bound = np.linalg.norm(np.linalg.inv(np.eye(2) - M), np.inf) * 0.05  # |h-h*| <= |(I-M)^-1| tol
    assert np.abs(h[0, 0] - h_star).max() <= bound
    with pytest.raises(ConvergenceError, match="steady state not reached"):
        steady_state(M[None], b, h0, tau, min_dt=1e-12, **kw)
    with pytest.raises(ConfigurationError, match="min_dt must be positive"):
        steady_state(M[None], b, h0, tau, min_dt=0.0)


def test_solver_errors_are_clear():
    net = small()
    M, tau = net.full_matrix(), net.tau()
    h0 = cold_start(1, 2, net.NE, net.NI, xnp, xnp.float32)
    with pytest.raises(ShapeError, match="drive b"):
        steady_state(M, net.drive()[:3], h0, tau)
    with pytest.raises(ShapeError, match="M must have shape"):
        steady_state(M[0], net.drive()[:2], h0, tau)
    with pytest.raises(ConvergenceError, match="steady state not reached"):
        steady_state(M, net.drive()[:2], h0, tau, max_steps=2, tol=1e-9)


# ------------------------------------------------------------------ plasticity


def test_gradient_rule_equals_finite_differences():
    """Eq 15 with the exact (Heaviside) r'(h) is the gradient of the steady-state loss (Eq 3)."""
    net = small(dtype=xnp.float64)
    s = 5
    h = solve(net, s)

    def loss(n):
        e = solve(n, s)[0, : n.NE] - 1.0
        return 0.5 * float(np.sum(e * e))

    G_EI, G_IE, _ = gradient_updates(net, h, 1.0, surrogate=False)
    rng = np.random.default_rng(0)
    eps = 1e-6
    checked = 0
    for name, G, z in (("V_IE", G_IE, net.z_IE), ("V_EI", G_EI, net.z_EI)):
        idx = np.argwhere(to_numpy(z)[0] > 0)
        for i, j in idx[rng.choice(len(idx), 8, replace=False)]:
            vals = []
            for sgn in (1, -1):
                n2 = net.copy()
                V = np.array(getattr(n2, name))
                V[0, i, j] += sgn * eps
                setattr(n2, name, V)
                refresh_weights(n2, normalise_IE=False)
                vals.append(loss(n2))
            fd = -(vals[0] - vals[1]) / (2 * eps)
            assert fd == pytest.approx(float(G[0, i, j]), rel=1e-5, abs=1e-6)
            checked += abs(fd) > 1e-3
    assert checked >= 6  # most sampled synapses carry a non-zero gradient


def test_iterative_adjoint_matches_direct():
    net = build_network(NETWORK.get(), 0, dtype=XB.float64)
    h = response_sweep(net, [3, 900]).h
    M = net.full_matrix()
    for k in range(2):
        hk = XB.asarray(h[:, k, :])
        e = XB.concat([hk[:, : net.NE] - 1.0, XB.zeros((1, net.NI), dtype=XB.float64)], axis=1)
        lam1 = to_numpy(adjoint_direct(M, hk, e))
        lam2, steps = adjoint_iterative(M, hk, e, net.tau(), rtol=1e-7, max_steps=5000)
        assert np.abs(lam1 - to_numpy(lam2)).max() < 1e-5 * np.abs(lam1).max()
        G1 = [to_numpy(g) for g in gradient_updates(net, hk, 1.0, method="direct")]
        G2 = [to_numpy(g) for g in gradient_updates(net, hk, 1.0, method="iterative", rtol=1e-7)]
        for a, b in zip(G1, G2):
            assert np.allclose(a, b, rtol=1e-4, atol=1e-6 * np.abs(a).max())


def test_local_rule_matches_hand_computation():
    net = small(dtype=xnp.float64)
    h = solve(net, 7)[0]
    NE, NI = net.NE, net.NI
    A_EI, A_IE = local_updates(net, h[None], 1.0)
    W_IE, V_IE, V_EI = (np.asarray(a)[0] for a in (net.W_IE, net.V_IE, net.V_EI))
    aEI, aIE = float(net.alpha_EI[0, 0, 0]), float(net.alpha_IE[0, 0, 0])
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))
    for j in range(NE):
        for i in range(NI):
            want = (h[j] - 1.0) * max(h[NE + i], 0.0) * sig(aEI * V_EI[j, i])
            assert A_EI[0, j, i] == pytest.approx(want, rel=1e-10, abs=1e-12)
    for i in range(NI):
        fb = sum(W_IE[i, k] * (h[k] - 1.0) for k in range(NE))
        for j in range(NE):
            want = fb * sig(h[NE + i]) * max(h[j], 0.0) * sig(aIE * V_IE[i, j])
            assert A_IE[0, i, j] == pytest.approx(want, rel=1e-10, abs=1e-12)
    # one step: decay, masks and the PV input normalisation
    n2 = net.copy()
    apply_local(n2, A_EI, A_IE, [1e-3], [2e-3], decay=0.1)
    V_new = V_IE + 1e-3 * (A_IE[0] - 0.1 * W_IE)
    W_new = np.asarray(net.z_IE)[0] * np.log1p(np.exp(aIE * V_new)) / aIE
    W_new *= 5.0 / W_new.sum(1, keepdims=True)
    assert np.allclose(n2.W_IE[0], W_new, rtol=1e-10)
    assert np.allclose(n2.V_EI[0], V_EI + 2e-3 * (A_EI[0] - 0.1 * np.asarray(net.W_EI)[0]))


def test_adam_first_step_is_sign_step():
    net = small(dtype=xnp.float64)
    h = solve(net, 2)
    G_EI, G_IE, _ = gradient_updates(net, h, 1.0)
    n2 = net.copy()
    Adam(n2, [1e-3], [1e-3], eps=1e-12).step(n2, G_EI, G_IE, decay=0.1)
    g = G_EI - 0.1 * net.W_EI
    assert np.allclose(n2.V_EI - net.V_EI, 1e-3 * np.sign(g), atol=1e-9)


# ------------------------------------------------------------------ batching and backends


def test_batch_equals_single_runs():
    nets = [small(seed=s) for s in (1, 2, 3)]
    eta_E, eta_I = learning_rates(["plastic", "output_ko", "input_ko"], 5e-3)
    batch, hb = train(stack_networks(nets), eta_E=eta_E, eta_I=eta_I, trials=2, tol=1e-4,
                      angle=True, seed=4)
    for b in range(3):
        one, h1 = train(nets[b], eta_E=[eta_E[b]], eta_I=[eta_I[b]], trials=2, tol=1e-4,
                        angle=True, seed=4)
        assert np.allclose(batch.W_IE[b], one.W_IE[0], rtol=1e-4, atol=1e-6)
        assert np.allclose(batch.W_EI[b], one.W_EI[0], rtol=1e-4, atol=1e-6)
        assert np.allclose(hb.loss[b], h1.loss[0], rtol=1e-4)
        assert np.allclose(hb.angle_EI[b], h1.angle_EI[0], atol=0.5)  # adjoint rtol 1e-3
    # knock-outs leave their matrix untouched
    assert np.allclose(batch.V_EI[1], nets[1].V_EI[0])
    assert np.allclose(batch.V_IE[2], nets[2].V_IE[0])
    assert not np.allclose(batch.V_IE[0], nets[0].V_IE[0])


def _struggling_batch():
    """Two ordinary networks and one whose strong PV self-inhibition makes large Euler steps
    oscillate (its step is halved and it needs about six times more steps)."""
    hard = small(seed=3)
    hard.W_II = hard.W_II * 3.0
    return [small(seed=1), hard, small(seed=2)]


def test_batch_with_a_struggling_network_equals_separate_solves():
    nets = _struggling_batch()
    batch = stack_networks(nets)
    S = batch.S
    h0 = cold_start(3, S, batch.NE, batch.NI, xnp, xnp.float32)
    info = {}
    hb, nb = steady_state(batch.full_matrix(), batch.drive(), h0, batch.tau(), tol=1e-3,
                          info=info)
    assert info["halvings_per_network"].tolist()[1] >= 1
    assert info["halvings_per_network"].tolist()[0] == 0
    for b, net in enumerate(nets):
        h1, n1 = steady_state(net.full_matrix(), net.drive(), h0[b : b + 1], net.tau(),
                              tol=1e-3)
        assert np.array_equal(hb[b : b + 1], h1)  # bitwise: own step, own stop
        assert n1 == info["steps_per_network"][b]
    assert nb == max(info["steps_per_network"])


def test_training_batch_with_a_struggling_network_equals_separate_runs():
    nets = _struggling_batch()
    eta_E, eta_I = learning_rates(["plastic", "plastic", "input_ko"], 5e-3)
    batch, hb = train(stack_networks(nets), eta_E=eta_E, eta_I=eta_I, trials=2, tol=1e-3,
                      angle=True, seed=[4, 5, 4])
    for b in range(3):
        one, h1 = train(nets[b], eta_E=[eta_E[b]], eta_I=[eta_I[b]], trials=2, tol=1e-3,
                        angle=True, seed=[4, 5, 4][b])
        assert np.array_equal(batch.W_IE[b], one.W_IE[0])
        assert np.array_equal(batch.W_EI[b], one.W_EI[0])
        assert np.array_equal(hb.loss[b], h1.loss[0])
        assert np.array_equal(hb.angle_IE[b], h1.angle_IE[0], equal_nan=True)


def test_solvers_stop_at_nan():
    net = small()
    M, tau = net.full_matrix(), net.tau()
    h0 = cold_start(1, 2, net.NE, net.NI, xnp, xnp.float32)
    h0[0, 1, 3] = np.nan
    with pytest.raises(ConvergenceError, match="NaN or infinite at step 0"):
        steady_state(M, net.drive()[:2], h0, tau)
    with pytest.raises(ConvergenceError, match="NaN or infinite"):
        euler_reference(M, net.drive()[:2], h0, tau, dt=1.0, T=10.0)


@pytest.mark.parametrize("call", [
    lambda: stimulus_grid(0),
    lambda: preferred_stimuli(-1),
    lambda: build_network(NETWORK.get(**dict(SMALL, n_stim=0)), 0),
    lambda: build_network(NETWORK.get(**dict(SMALL, n_pref=0)), 0),
    lambda: build_network(NETWORK.get(**dict(SMALL, NI=0)), 0),
    lambda: cold_start(0, 1, 27, 8, xnp, xnp.float32),
    lambda: cold_start(1, 0, 27, 8, xnp, xnp.float32),
    lambda: cold_start(1, 1, 0, 8, xnp, xnp.float32),
    lambda: cold_start(1, 1, 27, -2, xnp, xnp.float32),
    lambda: train(small(), eta_E=[0.0], eta_I=[0.0], trials=0),
    lambda: train(small(), eta_E=[0.0], eta_I=[0.0], trials=1, angle=True, angle_every=0),
    lambda: steady_state(small().full_matrix(), small().drive()[:1],
                         cold_start(1, 1, 27, 8, xnp, xnp.float32), small().tau(), max_steps=0),
], ids=["grid", "prefs", "n_stim", "n_pref", "NI", "B", "S", "NE", "NI_cold", "trials",
        "angle_every", "max_steps"])
def test_non_positive_sizes_raise_configuration_error(call):
    with pytest.raises(ConfigurationError, match="must be a positive integer") as e:
        call()
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("rule", ["local", "gradient"])
def test_numpy_and_array_api_strict_agree(rule):
    kw = dict(rule=rule, eta_E=[2e-3], eta_I=[2e-3], trials=1, tol=1e-3, seed=1)
    if rule == "local":
        kw["angle"] = True
    a, ha = train(small(xp=xnp), **kw)
    b, hb = train(small(xp=xps), **kw)
    assert np.allclose(to_numpy(a.W_IE), to_numpy(b.W_IE), rtol=1e-5, atol=1e-7)
    assert np.allclose(to_numpy(a.W_EI), to_numpy(b.W_EI), rtol=1e-5, atol=1e-7)
    assert np.allclose(ha.loss, hb.loss, rtol=1e-5)
    sa, sb = response_sweep(a), response_sweep(b)
    assert np.allclose(sa.rE, sb.rE, atol=1e-4)


def test_bad_arguments_raise_clear_errors():
    net = small()
    with pytest.raises(ConfigurationError, match="unknown rule"):
        train(net, rule="bogus", eta_E=[0.0], eta_I=[0.0], trials=1)
    with pytest.raises(ConfigurationError, match="one value per network"):
        train(net, eta_E=[0.0, 1.0], eta_I=[0.0], trials=1)
    with pytest.raises(ConfigurationError, match="unknown condition"):
        learning_rates(["plastic", "nope"], 1e-3)
    with pytest.raises(ShapeError, match="cannot stack"):
        stack_networks([net, build_network(NETWORK.get(n_stim=4, n_pref=2, NI=8), 0)])


def test_perturbation_influence_matches_direct_solves():
    from eicore.assemblies import perturbation_influence

    net = small(dtype=xnp.float64)
    cells, stim = [2, 11, 20], [0, 7, 33]
    infl = perturbation_influence(net, cells, stim, dI=10.0, tol=1e-9, chunk=2)
    assert infl.shape == (1, 3, 3, net.NE)
    M, tau = net.full_matrix(), net.tau()
    for p, c in enumerate(cells):
        for q, s in enumerate(stim):
            b = np.array(net.drive()[s : s + 1])
            h0 = cold_start(1, 1, net.NE, net.NI, xnp, xnp.float64)
            h, _ = steady_state(M, b, h0, tau, tol=1e-9, max_steps=20000)
            b[0, c] += 10.0
            hp, _ = steady_state(M, b, h0, tau, tol=1e-9, max_steps=20000)
            want = (np.maximum(hp, 0) - np.maximum(h, 0))[0, 0, : net.NE] / 10.0
            assert np.allclose(infl[0, p, q], want, atol=1e-6)


def test_sweep_currents():
    net = small()
    sw = response_sweep(net, [1, 2, 3])
    W_EE, W_EI, I = (to_numpy(a) for a in (net.W_EE[0], net.W_EI[0], net.I_E))
    assert np.allclose(sw.exc[0], sw.rE[0] @ W_EE.T + I[[1, 2, 3]], atol=1e-4)
    assert np.allclose(sw.inh[0], sw.rI[0] @ W_EI.T, atol=1e-4)
    # steady state: h_E = exc - inh
    assert np.abs(sw.h[0][:, : net.NE] - (sw.exc[0] - sw.inh[0])).max() < 0.05


# ------------------------------------------------------------------ the authors' code


def _authors_transcription(net, b, order, eta_e, eta_i, decay=0.1, rho0=1.0, dt=1.0):
    """The authors' training loop for network ``b`` of ``net``, transcribed line by line
    (simulator/rates.py compute_steady_state, simulator/plasticity.py update_weights, local
    rule with the W_IE propagation matrix), one stimulus at a time, in float64."""
    g = lambda a: np.array(to_numpy(a)[b], dtype=np.float64)
    wee, wei, wie, wii = g(net.W_EE), g(net.W_EI), g(net.W_IE), g(net.W_II)
    vei, vie, zei, zie = g(net.V_EI), g(net.V_IE), g(net.z_EI), g(net.z_IE)
    a_ei, a_ie = float(g(net.alpha_EI).ravel()[0]), float(g(net.alpha_IE).ravel()[0])
    aff = np.array(to_numpy(net.I_E), dtype=np.float64)
    bg, ie_total = float(net.I_I), float(net.J_IE)
    dt_tau_e, dt_tau_i = dt / net.tau_E, dt / net.tau_I
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))
    sp = lambda v, a: np.log1p(np.exp(a * v)) / a
    for s in order:
        re = np.full(wee.shape[0], rho0)
        ri = np.full(wii.shape[0], bg)
        he, hi = re.copy(), ri.copy()
        t, converged = 0, False
        while not converged and t < 1500:
            de = dt_tau_e * (aff[s] - wei @ ri + wee @ re - re)
            di = dt_tau_i * (wie @ re - wii @ ri - ri + bg)
            he += de
            re = np.clip(he, 0, 1000)
            esc = (he < 0) | (he > 1000)
            ge = np.abs(de[~esc]).max() if not esc.all() else 0
            hi += di
            ri = np.clip(hi, 0, 1000)
            esc = (hi < 0) | (hi > 1000)
            gi = np.abs(di[~esc]).max() if not esc.all() else 0
            t += 1
            converged = ge < dt_tau_e * 0.5 and gi < dt_tau_i * 0.5
        if not converged:
            continue
        error = he - rho0
        d_vie = np.outer((wie @ error) * sig(hi), re) * sig(a_ie * vie)
        d_vei = np.outer(error, ri) * sig(a_ei * vei)
        if eta_e > 0:
            vie = vie + eta_e * (d_vie - decay * wie)
            wie = sp(vie, a_ie) * zie
            wie = wie * (ie_total / wie.sum(axis=1, keepdims=True))
        if eta_i > 0:
            vei = vei + eta_i * (d_vei - decay * wei)
            wei = sp(vei, a_ei) * zei
    return wie, wei


def test_authors_mode_matches_a_transcription_of_the_authors_code():
    from eicore.backend import HostRNG

    net = stack_networks([small(seed=3, dtype=xnp.float64)] * 2)
    eta_E, eta_I = learning_rates(["plastic", "input_ko"], 5e-3)
    out, _ = train(net, eta_E=eta_E, eta_I=eta_I, trials=1, seed=4, mode="authors")
    order = HostRNG(4).generator.permutation(net.S)
    for b in range(2):
        wie, wei = _authors_transcription(net, b, order, eta_E[b], eta_I[b])
        np.testing.assert_allclose(to_numpy(out.W_IE)[b], wie, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(to_numpy(out.W_EI)[b], wei, rtol=1e-6, atol=1e-9)
    # input-KO: W_IE never normalised (it is in the paper's mode)
    np.testing.assert_array_equal(to_numpy(out.W_IE)[1], to_numpy(net.W_IE)[1])
    paper, _ = train(net, eta_E=eta_E, eta_I=eta_I, trials=1, seed=4)
    assert not np.allclose(to_numpy(paper.W_EI)[0], to_numpy(out.W_EI)[0], rtol=1e-3)
    from eicore.assemblies import Trainer

    tr = Trainer(net, rule="gradient", eta_E=eta_E, eta_I=eta_I, trials=1, mode="authors")
    assert (tr.opt.bias, tr.opt.eps) == (False, 1e-8)  # the authors' Adam
    with pytest.raises(ConfigurationError, match="unknown mode"):
        train(net, eta_E=eta_E, eta_I=eta_I, trials=1, mode="bogus")


def test_authors_network_construction():
    p = NETWORK.get()
    a, b = build_network(p, 0, authors=True), build_network(p, 0)
    W = to_numpy(a.W_EE)[0]
    assert abs((W > 0).mean() - 0.598) < 0.002  # the authors' rank cut (measured 0.598)
    np.testing.assert_allclose(W.sum(axis=1), 2.0, rtol=1e-5)
    nz = W[W > 0]
    assert 6.0 < nz.max() / nz.min() < 7.0  # corr - min(corr): no weights near zero
    assert not np.allclose(W, to_numpy(b.W_EE)[0])
    rows = to_numpy(a.W_IE)[0].sum(axis=1)  # J_IE = 5 in expectation only
    assert 0.1 < rows.std() < 0.4 and abs(rows.mean() - 5.0) < 0.1
    assert to_numpy(b.W_IE)[0].sum(axis=1).std() < 1e-5
