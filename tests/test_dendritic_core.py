"""Tests of the dendritic-balance core (Mikulasch et al. 2021) against independent computations."""

import array_api_compat.numpy as xnp
import array_api_strict as xps
import numpy as np
import pytest
from scipy.special import expit

from eicore.backend import get_xp, to_numpy
from eicore.dendritic import (
    BarsStream,
    SequenceStream,
    Simulation,
    event_driven_update,
    make_network,
)
from eicore.dendritic.measures import (
    bar_templates,
    bars_learned,
    dendritic_potentials,
    mean_pairwise_cosine,
    somatic_potential,
)
from eicore.errors import ConfigurationError

#: The active backend (EICORE_BACKEND): arrays the tests put into a network live there.
XB = get_xp()


def _const_stream(x, B, xp=None):
    return SequenceStream(np.asarray(x, np.float32)[None, :], np.zeros((B, 1), int), xp=xp)


def test_spike_statistics_match_sigmoid():
    B, nz, nx = 1, 6, 5
    rng = np.random.default_rng(0)
    F = rng.normal(0, 0.5, (nz, nx)).astype(np.float32)
    net = make_network("SB", n_z=nz, n_x=nx, batch=B, dt=1.0, rho=0.05, sigma_init=0.8, F0=F)
    net.W = XB.zeros((B, nz, nz), dtype=XB.float32)  # no recurrence: independent neurons
    net.b = XB.asarray(np.linspace(-1.5, 0.5, nz, dtype=np.float32)[None, :])
    x = rng.random(nx).astype(np.float32)
    sim = Simulation(net, noise_seeds=[1])
    out = sim.run(_const_stream(x, B), 300, learn=False, record_loss=False)
    n_steps = 300 * sim.l
    rate = out["counts"][0] / n_steps
    p = expit((F @ x + to_numpy(net.b)[0]) / 0.8**2)
    se = np.sqrt(p * (1 - p) / n_steps)
    assert np.all(np.abs(rate - p) < 5 * se), (rate, p)


def test_threshold_adaptation_reaches_target_rate():
    B = 2
    net = make_network("DB", n_z=16, n_x=64, batch=B, dt=1.0, rho=0.015, eta_b=2e-2)
    net.b = net.b - 2.0  # start far too quiet
    sim = Simulation(net, noise_seeds=[3, 4])
    bars = BarsStream([0.3, 0.3], seeds=[5, 6])
    sim.run(bars, 600, record_loss=False)
    out = sim.run(bars, 300, learn=False, record_loss=False)
    rate_hz = out["counts"].sum(1) / 16 / (300 * 0.1)  # per neuron, per second
    assert np.allclose(rate_hz, 15.0, rtol=0.1), rate_hz


def test_dendritic_potentials_sum_to_soma_and_dynamics_agree():
    B, nz, nx = 2, 4, 9
    rng = np.random.default_rng(1)
    F = rng.random((B, nz, nx)).astype(np.float32) * 0.5
    Wd = -rng.random((B, nz, nx, nz)).astype(np.float32) * 0.1
    x = rng.random((B, nx)).astype(np.float32)
    y = rng.random((B, nz)).astype(np.float32)
    u_ij = dendritic_potentials(F, Wd, x, y)
    soma = somatic_potential(F, Wd.sum(axis=2), x, y)
    assert np.allclose(u_ij.sum(axis=2), soma, atol=1e-5)

    dn = make_network("slow", n_z=nz, n_x=nx, batch=B, dt=1.0, F0=F)
    dn.Wd = XB.asarray(Wd)
    sn = make_network("SB", n_z=nz, n_x=nx, batch=B, dt=1.0, F0=F)
    sn.W = XB.asarray(Wd.sum(axis=2))
    pats = rng.random((7, nx)).astype(np.float32)
    order = np.tile(np.arange(7), (B, 1))
    outs = []
    for net in (dn, sn):
        sim = Simulation(net, noise_seeds=[11, 12])
        outs.append(sim.run(SequenceStream(pats, order), 7, learn=False, record_spikes=True))
    assert outs[0]["spikes"].sum() > 20
    np.testing.assert_array_equal(outs[0]["spikes"], outs[1]["spikes"])


def _one_block(variant, seed=0, **kw):
    """One presentation that is exactly one block; returns net before/after, x, spikes."""
    nz, nx = 3, 5
    rng = np.random.default_rng(seed)
    F = (0.2 + rng.random((nz, nx))).astype(np.float32)
    net = make_network(variant, n_z=nz, n_x=nx, batch=1, dt=1.0, rho=0.05, F0=F, **kw)
    net.y = XB.asarray(rng.random((1, nz)).astype(np.float32))
    if variant != "DB":
        Wd = -F.T[None, :, :] * F[:, :, None]  # Wd[j,i,k] = -F_ji F_ki: balanced, D = Fᵀ
        net.Wd = XB.asarray(Wd[None])
    before = net.copy()
    x = rng.random(nx).astype(np.float32)
    sim = Simulation(net, noise_seeds=[seed], presentation_ms=20.0, block_ms=20.0)
    assert sim.blocks == [sim.l] == [20]
    out = sim.run(_const_stream(x, 1), 1, record_spikes=True)
    return before, net, x.astype(np.float64), out["spikes"][0].astype(np.float64)


def _traces(y0, s, lam):
    ys = [y0]
    for st in s:
        ys.append(lam * ys[-1] + st)
    return np.array(ys)  # (K + 1, nz): y(t0-1), y(t0), ...


def test_db_input_rule_is_exact_decoder_gradient():
    # small rate: the block update is semi-implicit in the decay term, equal to first order
    eta = 1e-5
    before, after, x, s = _one_block("DB", eta_F=eta, eta_D=eta)
    lam = after.lam
    Y = _traces(to_numpy(before.y).astype(np.float64)[0], s, lam)[1:]  # y(t) incl. current spike
    assert s.sum() > 0
    F0 = to_numpy(before.F).astype(np.float64)[0]

    def loss(F):  # Eq 5 with Fᵀ as the decoder: 1/2 sum_t |x - Fᵀ y_t|^2
        return 0.5 * sum(((x - F.T @ y) ** 2).sum() for y in Y)

    grad = np.zeros_like(F0)
    h = 1e-6
    for j in range(F0.shape[0]):
        for i in range(F0.shape[1]):
            Fp, Fm = F0.copy(), F0.copy()
            Fp[j, i] += h
            Fm[j, i] -= h
            grad[j, i] = (loss(Fp) - loss(Fm)) / (2 * h)
    dF = (to_numpy(after.F).astype(np.float64)[0] - F0) / (eta * after.dt)
    np.testing.assert_allclose(dF, -grad, rtol=5e-3, atol=5e-3)
    # the decoder follows the same gradient (Eq 10) with its own D (zero at the start)
    dD = to_numpy(after.D).astype(np.float64)[0] / (eta * after.dt)
    np.testing.assert_allclose(dD, sum(np.outer(x, y) for y in Y), rtol=5e-3, atol=5e-3)


@pytest.mark.parametrize("variant", ["decay", "slow"])
def test_local_dendritic_rule_equals_gradient_when_balanced(variant):
    eta = 1e-3
    kw = {"eta_Fbar": eta, "eta_F": 0.0} if variant == "slow" else {"eta_F": eta}
    before, after, x, s = _one_block(variant, **kw)
    lam = after.lam
    Yp = _traces(to_numpy(before.y).astype(np.float64)[0], s, lam)[:-1]  # y(t-1)
    F0 = to_numpy(before.F).astype(np.float64)[0]
    # -dL/dF_ji for L = 1/2 sum_t |x - Fᵀ y(t-1)|^2, times F_ji (the local rule's y_j u_ij)
    neg_grad = sum(np.outer(y, x - F0.T @ y) for y in Yp)
    if variant == "slow":
        got = (to_numpy(after.Fbar).astype(np.float64)[0] - F0) / (eta * after.dt)
        np.testing.assert_allclose(got, F0 * neg_grad, rtol=2e-3, atol=2e-3)
    else:
        got = (to_numpy(after.F).astype(np.float64)[0] - F0) / (eta * after.dt)
        np.testing.assert_allclose(got, neg_grad, rtol=2e-3, atol=2e-3)


def test_event_driven_update_equals_per_step_sum():
    rng = np.random.default_rng(2)
    M = rng.random((5, 3))
    x0, z0 = rng.random(5), rng.random(3)
    lam, gap, eta = 0.9, 7, 0.01
    per_step = sum(np.outer(x0 - M @ (z0 * lam**m), z0 * lam**m) for m in range(gap + 1))
    np.testing.assert_allclose(event_driven_update(M, x0, z0, gap, lam, eta), M + eta * per_step)


def test_analytic_inhibition_relation():
    B, nz, nx = 2, 4, 6
    rng = np.random.default_rng(4)
    net = make_network(
        ["DB", "SB"], n_z=nz, n_x=nx, batch=B, sigma_init=0.7, F0=rng.random((B, nz, nx))
    )
    net.D = XB.asarray(rng.random((B, nx, nz)).astype(np.float32))
    W = to_numpy(net.somatic_inhibition())
    F, D = to_numpy(net.F), to_numpy(net.D)
    np.testing.assert_allclose(W[0], -F[0] @ D[0], rtol=1e-5)
    np.testing.assert_allclose(W[1], np.diag(-(F[1] ** 2).sum(1)), rtol=1e-5)


def test_learned_somatic_inhibition_converges_to_minus_F_D():
    """Eq 4 drives W towards -F D, D the decoder that Eq 10 learns (SI, Eq 16)."""
    nz, nx = 4, 8
    rng = np.random.default_rng(5)
    F = (rng.random((nz, nx)) * (rng.random((nz, nx)) < 0.5)).astype(np.float32)
    net = make_network(
        "SB",
        n_z=nz,
        n_x=nx,
        batch=1,
        dt=1.0,
        rho=0.04,
        sigma_init=0.5,
        F0=F,
        eta_W=2e-3,
        eta_D=2e-3,
        eta_b=1e-2,
    )
    pats = (rng.random((40, nx)) < 0.4).astype(np.float32)
    order = rng.integers(0, 40, (1, 2000))
    sim = Simulation(net, noise_seeds=[0])
    sim.run(SequenceStream(pats, order), 1500, record_loss=False)
    W = to_numpy(net.W)[0]
    FD = -F @ to_numpy(net.D)[0]
    r = np.corrcoef(W.ravel(), FD.ravel())[0, 1]
    assert r > 0.9, r


def test_batch_equals_separate_runs():
    kw = dict(
        n_z=16,
        n_x=64,
        dt=1.0,
        rho=0.015,
        eta_F=1e-3,
        eta_D=1e-3,
        eta_b=1e-2,
        eta_sigma=1e-5,
        sigma_final=0.5,
    )
    variants, pc, seeds = ["SB", "DB", "DB"], [0.2, 0.7, 0.9], [7, 8, 9]
    eta_W = np.array([2e-3, 0.0, 0.0], np.float32)
    big = make_network(variants, batch=3, eta_W=eta_W, **kw)
    Simulation(big, noise_seeds=seeds).run(BarsStream(pc, seeds), 40)
    for b in range(3):
        one = make_network(variants[b], batch=1, eta_W=float(eta_W[b]), **kw)
        Simulation(one, noise_seeds=[seeds[b]]).run(BarsStream([pc[b]], [seeds[b]]), 40)
        np.testing.assert_allclose(to_numpy(one.F)[0], to_numpy(big.F)[b], atol=1e-5)
        np.testing.assert_allclose(to_numpy(one.D)[0], to_numpy(big.D)[b], atol=1e-5)


@pytest.mark.parametrize("variants", [["SB", "DB"], ["simultaneous", "slow", "decay"]])
def test_numpy_and_array_api_strict_agree(variants):
    B, nz, nx = len(variants), 3, 4
    rng = np.random.default_rng(6)
    pats = rng.random((5, nx)).astype(np.float32)
    order = np.tile(np.arange(5), (B, 1))
    res = []
    for xp in (xnp, xps):
        net = make_network(
            variants,
            n_z=nz,
            n_x=nx,
            batch=B,
            dt=1.0,
            rho=0.05,
            xp=xp,
            F_init="const",
            F_scale=0.3,
            eta_F=1e-3,
            eta_W=1e-3,
            eta_D=1e-3,
            eta_b=1e-2,
            eta_Fbar=1e-3,
            decay=1e-3,
            eta_sigma=1e-4,
            sigma_final=0.5,
        )
        sim = Simulation(net, noise_seeds=range(B), presentation_ms=20.0, block_ms=5.0)
        out = sim.run(SequenceStream(pats, order, xp=xp), 5, record_spikes=True)
        res.append((out, np.asarray(np.from_dlpack(net.F)), np.from_dlpack(net.D)))
    np.testing.assert_array_equal(res[0][0]["spikes"], res[1][0]["spikes"])
    np.testing.assert_allclose(res[0][0]["loss"], res[1][0]["loss"], rtol=1e-5)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(res[0][2], res[1][2], rtol=1e-5, atol=1e-7)


def test_block_and_per_step_updates_agree():
    kw = dict(n_z=8, n_x=16, dt=1.0, rho=0.02, eta_F=2e-4, eta_D=2e-4, eta_b=5e-3)
    nets = []
    for block_ms in (1.0, 20.0):
        net = make_network("DB", batch=1, **kw)
        sim = Simulation(net, noise_seeds=[3], block_ms=block_ms)
        sim.run(BarsStream([0.5], [4], side=4), 30, record_loss=False)
        nets.append(net)
    F1, F20 = (to_numpy(n.F)[0] for n in nets)
    D1, D20 = (to_numpy(n.D)[0] for n in nets)
    assert np.abs(F1).max() > 1e-3
    assert np.abs(F1 - F20).max() < 0.05 * np.abs(F1).max()
    assert np.abs(D1 - D20).max() < 0.05 * np.abs(D1).max()


def test_measures_on_known_fields():
    T = bar_templates(4)
    F = np.stack([T[:8], T[[0, 0, 1, 2, 3, 4, 5, 6]]])  # perfect; neuron 0 and 1 duplicate
    r = bars_learned(F, side=4)
    assert list(r["unique"]) == [8, 6] and list(r["all_single"]) == [True, False]
    c = mean_pairwise_cosine(np.stack([np.eye(3), np.ones((3, 3))]))
    np.testing.assert_allclose(c, [0.0, 1.0])


def test_bad_configuration_is_reported():
    with pytest.raises(ConfigurationError):
        make_network("hebbian", n_z=2, n_x=2)
    with pytest.raises(ConfigurationError):
        make_network(["SB", "slow"], n_z=2, n_x=2, batch=2)


def test_relax_is_explicit_for_small_and_implicit_for_large_steps():
    from eicore.dendritic.simulate import _relax

    rng = np.random.default_rng(7)
    Y = rng.random((2, 5, 3))
    E = np.einsum("bki,bkj->bij", Y, Y)
    E[0] *= 1e-3 / np.trace(E[0])  # small: explicit step
    E[1] *= 10.0 / np.trace(E[1])  # a burst: implicit step, stable
    X, P = rng.random((2, 4, 3)), rng.random((2, 4, 3))
    out = _relax(X, E, P, right=True)
    np.testing.assert_allclose(out[0], X[0] + P[0] - X[0] @ E[0])
    np.testing.assert_allclose(out[1] @ (np.eye(3) + E[1]), X[1] + P[1], atol=1e-10)
    left = _relax(X.transpose(0, 2, 1), E, P.transpose(0, 2, 1), right=False)
    np.testing.assert_allclose(left, out.transpose(0, 2, 1), atol=1e-12)


def test_phase_schedule_switches_rates():
    from eicore.dendritic.experiment import phase_schedule, train

    net = make_network(["SB", "DB"], n_z=4, n_x=16, batch=2, dt=1.0, eta_D=1e-3)
    sim = Simulation(net, noise_seeds=[0, 1])
    sb = np.array([1.0, 0.0], np.float32)
    sched = phase_schedule([(2, {"eta_W": 1e-3 * sb}), (4, {"eta_F": 2e-3})])
    test = SequenceStream(np.ones((1, 16), np.float32), np.zeros((2, 1), int))
    train(sim, BarsStream([0.0, 0.0], [2, 3], side=4), test, 6, 2, 1, schedule=sched)
    np.testing.assert_allclose(to_numpy(net.rules["eta_W"]), [1e-3, 0.0])
    np.testing.assert_allclose(to_numpy(net.rules["eta_F"]), [2e-3, 2e-3])


def test_per_network_target_rate():
    rho = np.array([0.02, 0.005], np.float32)
    net = make_network(["slow", "decay"], n_z=3, n_x=4, batch=2, dt=0.1, rho=rho, sigma_init=0.5)
    p = rho.astype(np.float64) * 0.1
    np.testing.assert_allclose(to_numpy(net.b), 0.25 * np.log(p / (1 - p))[:, None] * [1, 1, 1])
    np.testing.assert_allclose(to_numpy(net.rules["rho"]), rho)
    # the starting bias makes each network fire at its own target rate when u = 0
    np.testing.assert_allclose(expit(to_numpy(net.b)[:, 0] / 0.25), p, rtol=1e-5)
    with pytest.raises(ConfigurationError, match="rho"):
        make_network("DB", n_z=2, n_x=2, dt=1.0, rho=2.0)
    with pytest.raises(ConfigurationError, match="rho"):
        make_network(["DB", "SB"], n_z=2, n_x=2, batch=2, rho=[0.01, 0.02, 0.03])


@pytest.mark.parametrize("dt", [0.1, 0.15, 0.25, 0.5, 1.0, 2.0, 3.0])
def test_blocks_divide_the_presentation_where_they_can(dt):
    # every time step the presets use: even blocks of block_length steps, as always
    from eicore.dendritic import block_length, block_lengths

    l = int(round(100.0 / dt))
    K = block_length(l, dt)
    assert block_lengths(l, dt) == [K] * (l // K)


@pytest.mark.parametrize("dt, l, blocks", [
    (0.175, 571, [96, 95, 95, 95, 95, 95]),  # 571 steps, prime: not one-step blocks
    (1.5, 67, [12, 11, 11, 11, 11, 11]),
])
def test_prime_presentations_get_near_even_blocks(dt, l, blocks):
    from eicore.dendritic import block_length, block_lengths

    assert int(round(100.0 / dt)) == l and block_length(l, dt) == 1
    assert block_lengths(l, dt) == blocks
    assert sum(blocks) == l and max(blocks) <= round(20.0 / dt)


def test_uneven_blocks_give_the_per_step_spikes_and_learning():
    # a 97-step presentation (prime) at dt = 1 ms: blocks of 20, 20, 19, 19, 19 steps
    kw = dict(n_z=8, n_x=16, dt=1.0, rho=0.02, eta_F=2e-4, eta_D=2e-4, eta_b=5e-3)
    sims = {}
    for block_ms in (1.0, 20.0):
        net = make_network("DB", batch=1, **kw)
        sims[block_ms] = Simulation(net, noise_seeds=[3], presentation_ms=97.0, block_ms=block_ms)
    assert sims[20.0].blocks == [20, 20, 19, 19, 19] and sims[1.0].blocks == [1] * 97
    # without learning the blocks only group the steps: the same spikes, step by step
    out = {b: s.run(BarsStream([0.5], [4], side=4), 3, learn=False, record_spikes=True)
           for b, s in sims.items()}
    assert out[1.0]["spikes"].sum() > 0
    np.testing.assert_array_equal(out[1.0]["spikes"], out[20.0]["spikes"])
    np.testing.assert_allclose(out[1.0]["loss"], out[20.0]["loss"], rtol=1e-5)
    # with learning, the block form follows the per-step form (as for even blocks)
    for s in sims.values():
        s.run(BarsStream([0.5], [5], side=4), 30, record_loss=False)
    F1, F20 = (to_numpy(s.net.F)[0] for s in (sims[1.0], sims[20.0]))
    D1, D20 = (to_numpy(s.net.D)[0] for s in (sims[1.0], sims[20.0]))
    b1, b20 = (to_numpy(s.net.b)[0] for s in (sims[1.0], sims[20.0]))
    assert np.abs(F1).max() > 1e-3
    assert np.abs(F1 - F20).max() < 0.05 * np.abs(F1).max()
    assert np.abs(D1 - D20).max() < 0.05 * np.abs(D1).max()
    assert np.abs(b1 - b20).max() < 0.05 * np.abs(b1).max()


def test_pickled_noise_draws_its_buffer_again_bitwise():
    """A checkpoint stores the noise generators' states, not the drawn buffer (B x
    thousands of steps x n_z values); unpickled mid-buffer, the noise goes on bitwise."""
    import pickle

    from eicore.dendritic.simulate import LogisticNoise

    a = LogisticNoise([5, 6, 7], n_z=50, xp=xnp, chunk=1000)
    a.take(300)
    blob = pickle.dumps(a)
    assert len(blob) < 3 * 1000 * 50 * 4 / 10  # the buffer would be 600 kB
    b = pickle.loads(blob)
    b.xp = xnp
    for k in (500, 900, 1700, 3):  # within, across and beyond a chunk
        np.testing.assert_array_equal(to_numpy(a.take(k)), to_numpy(b.take(k)))
    # a leftover that a refill extends is kept too
    c = pickle.loads(pickle.dumps(a))
    c.xp = xnp
    np.testing.assert_array_equal(to_numpy(a.take(2500)), to_numpy(c.take(2500)))
