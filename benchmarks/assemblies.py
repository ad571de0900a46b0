"""Speed of Part I (E/I assemblies): seconds per training trial per network.

A training trial is one pass over the 1728 stimuli (one steady-state solve and one
weight update per stimulus). We time the local rules (Eq 8) at the paper's learning rate
(eta = 1e-5) for B = 1 and for B = 3 networks (plastic, output-KO, input-KO trained as one
batch), with and without the angle diagnostic (the gradient of Eq 15 at every
presentation), plus the gradient rules with Adam, and compare with the authors' code
measured on the same kind of 2-core VM (spec: 12.8 s per trial without the angle,
32.5 s with it, 30.2 s for the gradient rules). Also times one response sweep
(1728 stimuli in one batched solve).

    python benchmarks/assemblies.py [--quick] [--B30]

Writes ``benchmarks/results/assemblies.json``. Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import _common  # noqa: F401  (one BLAS thread; before NumPy)

from eicore.assemblies import (
    NETWORK,
    build_network,
    learning_rates,
    response_sweep,
    stack_networks,
    train,
)
from eicore.backend import backend_name, get_xp

REFERENCE = {  # authors' code, 1 thread, 2-core VM (spec section 4)
    "local": 12.8,
    "local+angle": 32.5,
    "gradient": 30.2,
    "sweep": 9.4,
}
TARGET = {"local": 1.3, "local+angle": 3.0}


def per_trial(B: int, rule: str, angle: bool, trials: int, dt: float) -> dict:
    p = NETWORK.get()
    conds = (["plastic", "output_ko", "input_ko"] * ((B + 2) // 3))[:B]
    eta = 1e-5 if rule == "local" else 1e-3
    eta_E, eta_I = learning_rates(conds, eta)
    net = stack_networks([build_network(p, s) for s in range(B)])
    _, hist = train(net, rule=rule, eta_E=eta_E, eta_I=eta_I, trials=trials, angle=angle,
                    seed=0, dt=dt)
    s = hist.seconds / trials
    cpu = hist.cpu_seconds / trials
    return dict(B=B, rule=rule, angle=angle, dt_ms=dt, trials=trials, s_per_trial=s,
                s_per_trial_per_network=s / B, cpu_s_per_trial_per_network=cpu / B,
                mean_solver_steps=float(hist.steps.mean()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one trial per configuration")
    ap.add_argument("--B30", action="store_true", help="also B = 30 (meant for a GPU)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "assemblies.json"))
    args = ap.parse_args()
    trials = 1 if args.quick else 2
    rows = []
    xp = get_xp()
    net = build_network(NETWORK.get(), 0, xp=xp)
    t = time.perf_counter()
    response_sweep(net)
    sweep_s = time.perf_counter() - t
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    # Euler step: 30 ms (the `full` preset of the local rules) and 20 ms (`ci`, gradient rules)
    configs = [(1, "local", False, 30.0), (3, "local", False, 30.0), (3, "local", False, 20.0),
               (1, "local", True, 30.0), (3, "local", True, 30.0), (3, "gradient", False, 20.0)]
    if args.B30:
        configs.append((30, "local", False, 30.0))
    for B, rule, angle, dt in configs:
        r = per_trial(B, rule, angle, trials, dt)
        key = "local+angle" if angle else rule
        r["reference_s_per_trial"] = REFERENCE[key]
        r["speedup_vs_reference"] = REFERENCE[key] / r["s_per_trial_per_network"]
        r["cpu_speedup_vs_reference"] = REFERENCE[key] / r["cpu_s_per_trial_per_network"]
        r["target_s_per_trial_per_network"] = TARGET.get(key)
        rows.append(r)
    print(f"{'B':>3} {'rule':>9} {'angle':>5} {'dt':>4} {'s/trial/net':>12} {'cpu s':>6} "
          f"{'ref s':>7} {'speed-up':>9} {'target':>7} {'steps':>6}")
    for r in rows:
        tgt = r["target_s_per_trial_per_network"]
        print(f"{r['B']:>3} {r['rule']:>9} {r['angle']!s:>5} {r['dt_ms']:>4.0f} "
              f"{r['s_per_trial_per_network']:>12.2f} {r['cpu_s_per_trial_per_network']:>6.2f} "
              f"{r['reference_s_per_trial']:>7.1f} {r['speedup_vs_reference']:>8.1f}x "
              f"{'-' if tgt is None else tgt:>7} {r['mean_solver_steps']:>6.1f}")
    print(f"response sweep (1728 stimuli, one network): {sweep_s:.2f} s "
          f"(reference {REFERENCE['sweep']} s, {REFERENCE['sweep'] / sweep_s:.0f}x)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {peak:.0f} MiB")
    out = dict(
        part="assemblies",
        note=("2-core VM shared with other jobs (wall timings noisy; cpu_s = process CPU time, "
              "more robust to contention); single BLAS thread; "
              "learning rate 1e-5 (local) / 1e-3 (gradient, Adam), first trials of learning; "
              "reference = authors' code on a similar 2-core VM (spec section 4)"),
        machine=dict(platform=platform.platform(), processor=platform.processor(),
                     cpus=os.cpu_count(), backend=backend_name()),
        load_average_at_end=os.getloadavg()[0], trials_timed=trials, rows=rows,
        sweep_seconds=sweep_s,
        sweep_reference_seconds=REFERENCE["sweep"], peak_rss_mib=peak,
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
