"""Registered experiments of Part I (eicore.assemblies.protocols): sweeps, batching, resume."""

from __future__ import annotations

import numpy as np
import pytest

from eicore.assemblies import (
    NETWORK,
    PERTURB,
    TRAIN_GRADIENT,
    TRAIN_LOCAL,
    build_network,
    learning_rates,
    perturbation_influence,
    response_sweep,
    stack_networks,
    train,
)
from eicore.assemblies import protocols as pr
from eicore.assemblies.analysis import influence_vs_rf, influence_vs_rf_sums
from eicore.backend import to_numpy
from eicore.errors import ConfigurationError
from eicore.runs import Context, Interrupted, Store, Task, get

TINY_NET = dict(n_stim=4, n_pref=3, NI=8, J_EE=1.0)  # 64 stimuli, NE = 27, NI = 8



def assert_equal(a, b, **kw):
    """Bitwise equality of two results, each on any backend."""
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b), **kw)

def tiny_task(name, points, **over):
    exp = get(name)
    main = exp.presets[0]
    kw = dict(trials=2, eta=5e-3, tol=1e-3)
    if main is TRAIN_LOCAL:
        kw.update(angle_every=3)
    if main is PERTURB:
        kw = dict(n_cells=6, n_stimuli=10, tol=1e-3)
    kw.update(over)
    params = {main.name: main.get("ci", **kw), NETWORK.name: NETWORK.get("ci", **TINY_NET)}
    if main is PERTURB:
        params[TRAIN_LOCAL.name] = TRAIN_LOCAL.get("ci", trials=2, eta=5e-3, tol=1e-3,
                                                   angle_every=3)
        params = {main.name: params[main.name], TRAIN_LOCAL.name: params[TRAIN_LOCAL.name],
                  NETWORK.name: params[NETWORK.name]}
    return Task(name, "ci", tuple(points), params)


def pts(seeds, conds):
    return [dict(seed=s, condition=c) for s in seeds for c in conds]


def equal(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert_equal(a[k], b[k], err_msg=k)


def test_experiments_registered_with_sane_sweeps():
    names = {"assemblies.train_local": (4, 4), "assemblies.train_gradient": (3, 3),
             "assemblies.perturb": (4, 4)}
    for name, (n_points, batch) in names.items():
        exp = get(name)
        assert exp.batch == batch
        for scale in ("ci", "full"):
            axes = exp.sweep(scale)
            assert list(axes) == ["seed", "condition"]
            assert len(exp.points(scale)) == n_points * len(axes["seed"])
            tasks = exp.tasks(scale)
            assert sum(len(t) for t in tasks) == len(exp.points(scale))
            for t in tasks:  # one task = every condition of one seed (the chapters' batch)
                assert len({p["seed"] for p in t.points}) == 1
                assert len(t) == n_points
    assert get("assemblies.train_local").sweep("ci")["condition"][-1] == "input_ko_heavy"
    assert get("assemblies.perturb").separate == ("seed",)


def test_angle_presentations():
    ci = TRAIN_LOCAL.get("ci")
    k = pr.angle_presentations(ci, 1728)
    assert np.array_equal(k, np.arange(0, 5 * 1728, 8))  # every recorded one at ci
    full = TRAIN_LOCAL.get("full")
    k = pr.angle_presentations(full, 1728)
    assert np.array_equal(k[:1728], np.arange(1728)) and np.array_equal(
        k[-1728:], np.arange(499 * 1728, 500 * 1728))
    assert len(k) < 25000  # the store keeps a full-scale entry small
    assert len(pr.angle_presentations(TRAIN_GRADIENT.get("ci"), 1728)) == 0


def test_train_local_matches_train_and_other_batches():
    name = "assemblies.train_local"
    task = tiny_task(name, pts([0], pr.LOCAL_CONDITIONS))
    res = pr.run_train_local(task, Context(None))
    assert res["W_IE"].shape == (4, 8, 27) and res["W_IE"].dtype == np.float32
    assert res["angle_IE"].shape == (4, len(res["presentation"]))
    # the experiment is train() on the stacked networks (same batch: bitwise)
    p = task.p
    nets = stack_networks([build_network(NETWORK.get("ci", **TINY_NET), 0,
                                         sigma_IE=1.45 if c.endswith("heavy") else None)
                           for c in pr.LOCAL_CONDITIONS])
    eta_E, eta_I = learning_rates(pr.LOCAL_CONDITIONS, p.eta)
    net, hist = train(nets, eta_E=eta_E, eta_I=eta_I, trials=p.trials, tol=p.tol, dt=p.dt,
                      angle=True, angle_every=p.angle_every, seed=0)
    assert_equal(res["W_IE"], to_numpy(net.W_IE))
    assert_equal(res["loss"], hist.loss)
    # networks and sweeps rebuilt from the stored arrays equal the trained ones
    rebuilt = pr._rebuild(res, pr.LOCAL_CONDITIONS, 0, NETWORK.get("ci", **TINY_NET), "local", p)
    for k in ("W_EI", "W_IE", "V_EI", "V_IE", "W_EE", "z_IE"):
        assert_equal(getattr(rebuilt["after"], k),
                                      getattr(net, k), err_msg=k)
    assert_equal(rebuilt["sweep_after"].h, response_sweep(net).h)
    assert_equal(rebuilt["sweep_before"].exc, response_sweep(nets).exc)
    two = pr._select(rebuilt, [2, 0])
    assert two["conditions"] == ["input_ko", "plastic"]
    assert_equal(two["sweep_after"].rI[1], rebuilt["sweep_after"].rI[0])
    assert_equal(two["history"].angle_EI_median[0],
                                  rebuilt["history"].angle_EI_median[2])
    # alone, or in a batch with another seed (other stimulus order): bitwise equal (every
    # network has its own solver step and convergence test)
    alone = pr.run_train_local(tiny_task(name, pts([0], ["input_ko"])), Context(None))
    mixed = pr.run_train_local(tiny_task(name, pts([1, 0], pr.LOCAL_CONDITIONS)),
                               Context(None))
    for other, i in ((alone, 0), (mixed, 4 + 2)):
        for k in ("W_IE", "W_EI", "loss"):
            assert_equal(other[k][i], res[k][2], err_msg=k)
    seed1 = pr.run_train_local(tiny_task(name, pts([1], ["plastic"])), Context(None))
    assert_equal(mixed["W_EI"][0], seed1["W_EI"][0])
    assert not np.allclose(mixed["W_EI"][0], mixed["W_EI"][4])  # seeds differ


@pytest.mark.parametrize("name", ["assemblies.train_local", "assemblies.train_gradient"])
def test_training_resumes_bitwise(tmp_path, name):
    conds = pr.LOCAL_CONDITIONS if name.endswith("local") else pr.GRADIENT_CONDITIONS
    task = tiny_task(name, pts([0], conds))
    run = get(name).run
    whole = run(task, Context(None))
    path = tmp_path / "task.ckpt"
    with pytest.raises(Interrupted):  # stop after the before sweep and 3 chunks of stimuli
        run(task, Context(path, every=0, stop_after=4))
    with pytest.raises(Interrupted):  # mid-trial, twice
        run(task, Context(path, every=0, stop_after=5))
    saved = Context(path, every=0).resume()["trainer"]
    assert not {"M", "b_all"} & set(saved.__getstate__())  # left out of the checkpoint ...
    assert_equal(to_numpy(saved.M), to_numpy(saved.net.full_matrix()))  # ... and rebuilt
    ctx = Context(path, every=0)
    resumed = run(task, ctx)
    assert ctx.resumed
    equal(whole, resumed)


def test_perturb_matches_full_influence_and_resumes(tmp_path):
    task = tiny_task("assemblies.perturb", pts([0], pr.PERTURB_NETWORKS))
    whole = pr.run_perturb(task, Context(None))
    path = tmp_path / "p.ckpt"
    with pytest.raises(Interrupted):
        pr.run_perturb(task, Context(path, every=0, stop_after=1))
    equal(whole, pr.run_perturb(task, Context(path, every=0)))
    # the same numbers as one call of perturbation_influence over all cells
    tr = pr._local_networks(task, Context(None), 0)
    c = tr["conditions"]
    nets = stack_networks([tr["before"].select(c.index("plastic"))]
                          + [tr["after"].select(c.index(n)) for n in pr.PERTURB_NETWORKS[1:]])
    cells, stim = whole["cells"][0], whole["stim"][0]
    infl = perturbation_influence(nets, cells, stim, dI=10.0, tol=task.p.tol)
    rE = [tr["sweep_before"].rE[0]] + [tr["sweep_after"].rE[c.index(n)]
                                        for n in pr.PERTURB_NETWORKS[1:]]
    for b in range(4):
        assert_equal(whole["influence_mean"][b], infl[b].mean(axis=1))
        assert_equal(whole["influence_example"][b], infl[b, 0, :30])
        ref = influence_vs_rf(infl[b], cells, rE[b])
        assert whole["rf_slope"][b] == ref["slope"] and whole["rf_r"][b] == ref["r"]
        np.testing.assert_allclose(whole["rf_mean"][b], ref["mean"], rtol=1e-10)
        np.testing.assert_allclose(whole["rf_sem"][b], ref["sem"], rtol=1e-6)
        assert_equal(whole["rf_count"][b], ref["count"])


def test_influence_sums_equal_full_curve():
    rng = np.random.default_rng(0)
    infl = rng.normal(size=(5, 7, 12)).astype(np.float32)
    rE = rng.random((30, 12))
    cells = np.array([1, 3, 4, 8, 11])
    a = influence_vs_rf(infl, cells, rE)
    b = influence_vs_rf_sums(infl.mean(1), infl.sum(1, dtype=np.float64),
                             (infl.astype(np.float64) ** 2).sum(1), 7, cells, rE)
    for k in ("centres", "mean", "sem", "count"):
        np.testing.assert_allclose(a[k], b[k], rtol=1e-9, err_msg=k)
    assert a["slope"] == b["slope"] and a["r"] == b["r"]


def test_store_of_a_perturbation_task(tmp_path):
    exp = get("assemblies.perturb")
    task = exp.tasks("ci")[0]
    store = Store(tmp_path / "results")
    ctx = Context(store.checkpoint_path(task))
    assert pr._store_for(ctx).root == store.root
    assert pr._store_for(Context(None)).root == Store().root


def test_task_params_decide_where_networks_come_from():
    exp = get("assemblies.train_local")
    assert pr._params_of(exp.params("ci"), exp, "ci")
    task = tiny_task("assemblies.perturb", pts([0], pr.PERTURB_NETWORKS))
    params = {TRAIN_LOCAL.name: task.preset(TRAIN_LOCAL), NETWORK.name: task.preset(NETWORK)}
    assert not pr._params_of(params, exp, "ci")


def test_seed_offset_shifts_the_seed_axis(monkeypatch):
    monkeypatch.setenv("EICORE_SEED_OFFSET", "7")
    for name in ("assemblies.train_local", "assemblies.train_gradient", "assemblies.perturb"):
        exp = get(name)
        seeds = {p["seed"] for p in exp.points("ci")}
        n = exp.params("ci")[exp.presets[0].name].seeds
        assert seeds == set(range(7, 7 + n))
    assert pr.seed_offset() == 7
    monkeypatch.setenv("EICORE_SEED_OFFSET", "x")
    with pytest.raises(ConfigurationError, match="EICORE_SEED_OFFSET"):
        pr.seed_offset()


def test_train_authors_is_the_authors_mode_of_train():
    exp = get("assemblies.train_authors")
    for scale in ("ci", "full"):
        assert exp.sweep(scale)["condition"] == ["plastic"]
    task = tiny_task("assemblies.train_authors", pts([0, 1], ["plastic"]))
    res = exp.run(task, Context(None))
    p = task.preset(TRAIN_LOCAL)
    net = pr._networks(task.preset(NETWORK), [1], ["plastic"], authors=True)
    one, hist = train(net, eta_E=[p.eta], eta_I=[p.eta], trials=p.trials, decay=p.decay,
                      angle=True, angle_every=p.angle_every, seed=1, mode="authors")
    assert_equal(res["W_IE"][1], to_numpy(one.W_IE)[0])
    assert_equal(res["loss"][1], hist.loss[0])
    assert np.isfinite(res["angle_IE_median"]).all()


def test_trained_conditions_stored_only_loads(tmp_path):
    """stored=True never trains: missing results name the command; stored ones rebuild."""
    with pytest.raises(ConfigurationError, match="eicore run assemblies.train_local"):
        pr.trained_conditions("local", 0, scale="smoke", store=tmp_path, stored=True)
    store = Store(tmp_path)
    ref = pr.trained_conditions("local", 0, scale="smoke", store=store,
                                conditions=["output_ko", "plastic"])
    got = pr.trained_conditions("local", 0, scale="smoke", store=store, stored=True,
                                conditions=["output_ko", "plastic"])
    assert got["conditions"] == ["output_ko", "plastic"]
    assert_equal(got["after"].W_EI, ref["after"].W_EI)
    assert_equal(got["sweep_after"].rE, ref["sweep_after"].rE)
    # the paper-scale measures of a condition, against direct computations
    from eicore.assemblies.claims import measure
    from eicore.measures import skewness
    m = measure(got, "plastic", repeats=50)
    h = to_numpy(got["sweep_after"].h[1])[:, :got["after"].NE]
    assert m["loss_after"] == pytest.approx(np.mean(0.5 * np.sum((h - 1.0) ** 2, axis=1)))
    rI = to_numpy(got["sweep_before"].rI[1])
    assert m["sel_I_before"] == pytest.approx(np.median(skewness(rI, axis=0)))
    assert all(0 <= m[k] <= 1 for k in m if k.startswith("frac_"))
    assert 0.04 < m["r2_before"] < 0.08  # the paper's E[R^2] = 0.06 before learning
    # the summary's claims: rows whose runs are missing are "not run yet"; the others are
    # the same whichever subset of conditions was loaded
    from eicore.assemblies.summary import claim_rows, quantities, verdict
    q = quantities(got, repeats=50)
    rows = claim_rows([q])
    # one computation behind both: the summary's quantities are the chapters' measures
    for c in got["conditions"]:
        mc = measure(got, c, repeats=50)
        for k in ("sel_I", "sel_E", "cotuning", "loss"):
            assert q[f"{c}.{k}"] == mc[f"{k}_after"], (c, k)
        assert (q[f"{c}.U"], q[f"{c}.p"]) == (mc["U"], mc["p_selectivity"])
        assert all(q[f"{c}.{k}"] == v for k, v in mc.items() if k.startswith("frac_"))
    assert all(q[f"{k}_before"] == m[f"{k}_before"] for k in ("sel_I", "sel_E", "cotuning", "loss"))
    assert len(rows) == 33
    # Fig 1-S5: the share of existing synapses below theta, counted directly
    for c in got["conditions"]:
        b = list(got["conditions"]).index(c)
        for name in ("IE", "EI"):
            w = to_numpy(getattr(got["after"], f"W_{name}"))[b]
            z = to_numpy(getattr(got["after"], f"z_{name}"))[b] > 0
            assert q[f"{c}.below_{name}"] == pytest.approx(np.sum((w < 1e-4) & z) / np.sum(z))
    by = {(r["fig"], r["claim"]): r for r in rows}
    assert verdict(by[("3e", "input-KO: input-vs-RS significant")]) == "not run yet"
    assert verdict(by[("4d", "KOs: influence rises")]) == "not run yet"
    assert by[("2f", "output-KO: input-vs-RS significant")]["value"] is not None
    full = claim_rows([quantities(ref, repeats=50)])
    for r, f in zip(rows, full, strict=True):
        if r["value"] is not None:
            assert r["value"] == f["value"], r["claim"]


def test_claims_over_seeds_median_fraction_verdict():
    """claim_rows over seeds: medians and IQR as numpy computes them, the fraction of seeds,
    and the verdict rules of eicore.claims (reproduced / partly / not reproduced)."""
    import pandas as pd

    from eicore.assemblies.summary import claim_rows, holds, spread
    key = "plastic.frac_output_vs_rs"  # criterion: >= 90 % of samples
    cases = {"reproduced": [0.95, 0.92, 0.91, 0.5, 0.99],  # median holds, 4 of 5 seeds
             "partly": [0.95, 0.91, 0.5, 0.4, 0.99],       # median holds, 3 of 5 seeds
             "not reproduced": [0.95, 0.5, 0.4, 0.99, 0.3]}  # median fails, 2 of 5
    for expected, xs in cases.items():
        (row,) = [r for r in claim_rows([{key: x} for x in xs])
                  if r["claim"] == "plastic: output-vs-RS significant"]
        q1, m, q3 = np.percentile(xs, [25, 50, 75])
        assert row["value"] == f"{100 * m:.1f}% [{100 * q1:.1f}%, {100 * q3:.1f}%]"
        assert row["fraction"] == pytest.approx(np.mean(np.asarray(xs) >= 0.9))
        assert row["seeds"] == 5 and row["verdict"] == expected
        t = pd.DataFrame({key: xs})
        assert holds(t, lambda q: q[key] >= 0.9) == (m >= 0.9, row["fraction"])
        assert spread(t).iloc[0, 0] == row["value"]
    # one seed (a paper-scale run): the verdict is the criterion itself, no IQR
    (row,) = [r for r in claim_rows([{key: 0.93}]) if r["claim"].startswith("plastic: out")]
    assert row["value"] == "93.0%" and row["verdict"] == "reproduced"
    # a criterion met only in part (p < 1e-4 but U far from the paper's) is "partly"
    rows = claim_rows([{"output_ko.U": 3.0, "output_ko.p": 1e-20}] * 5)
    (row,) = [r for r in rows if r["fig"] == "2b" and "Mann-Whitney" in r["claim"]]
    assert row["verdict"] == "partly" and row["median_holds"] == "partly"


def test_perturbation_experiment_stored_only_loads(tmp_path):
    """stored=True never computes: missing results name the command; stored ones load."""
    with pytest.raises(ConfigurationError, match="eicore run assemblies.perturb"):
        pr.perturbation_experiment(0, scale="smoke", store=tmp_path, stored=True)
    store = Store(tmp_path)
    ref = pr.perturbation_experiment(0, scale="smoke", store=store)
    got = pr.perturbation_experiment(scale="smoke", store=store, stored=True)  # seed 0
    assert got["names"] == ref["names"]
    for k in ("cells", "stim", "influence_mean", "influence_example", "rE", "W_IE"):
        assert_equal(got[k], ref[k])
    assert {n: c["slope"] for n, c in got["curves"].items()} == \
        {n: c["slope"] for n, c in ref["curves"].items()}


def test_perturb_loads_networks_by_the_rule_of_its_run(tmp_path):
    """``eicore run`` keeps stored training of other source code (ctx.same_code False); the
    chapters' compute (same_code True) trains again."""
    import json

    from eicore import runs

    store = Store(tmp_path)
    pr.trained_conditions("local", 0, scale="smoke", store=store)  # seed 0, every condition
    folder = tmp_path / "assemblies.train_local" / "smoke"
    old = "0" * 16
    for f in folder.glob("*.json"):  # as if made by an earlier version of the code
        meta = json.loads(f.read_text())
        meta["source"] = old
        f.write_text(json.dumps(meta))

    def sources():
        return {json.loads(f.read_text())["source"] for f in folder.glob("*.json")}

    report = runs.run("assemblies.perturb", "smoke", store=store, only={"seed": [0]})
    assert len(report.written) == 1
    assert sources() == {old}  # the stored networks were used, nothing trained again
    for f in (tmp_path / "assemblies.perturb" / "smoke").glob("*"):
        f.unlink()
    runs.compute("assemblies.perturb", "smoke", store=store, only={"seed": [0]})
    assert old not in sources()  # the chapters' rule: other code's training is redone
