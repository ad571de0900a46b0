"""The paper's claims, evaluated over seeds on the stored results of Part II.

Each function takes the ``xarray.Dataset`` of one registered experiment (from
:func:`eicore.runs.compute`) and returns a :class:`Claim`: the measured values as median
[interquartile range] over seeds, whether the claim holds for the medians, and the
fraction of seeds (or of seed pairs: SB and DB networks of the same seed see the same
inputs) for which it holds. :func:`verdict` turns that into *reproduced* (the medians
and at least 80 % of the seeds), *partly* (the medians, or at least half of the seeds)
or *not reproduced*. The summary chapter tabulates them; the chapters' checks assert the
same criteria.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...backend import host as np
from ...claims import VERDICT_RULES, fmt, med_iqr, verdict_of

__all__ = ["Claim", "med_iqr", "fmt", "verdict", "VERDICT_RULES", "fig3_similar", "fig3_sparse",
           "fig4_db_below_sb", "fig4_sb_peaks", "fig4_single_bars", "fig5_db_better",
           "fig5_db_falls", "fig5_gap_grows", "fig5_twice", "fig6b_breakdown", "fig6b_delay_cost",
           "fig6a_collapse", "fig6a_short_delay", "COLLAPSE_COSINE",
           "fig6a_graceful", "variants_match", "decay_at_own_rate"]

@dataclass
class Claim:
    """One claim of the paper as measured here."""

    figure: str
    paper: str
    criterion: str
    value: str
    median_holds: bool
    fraction: float
    seeds: int

    def __post_init__(self):
        self.median_holds = bool(self.median_holds)
        self.fraction = float(self.fraction)


def verdict(c: Claim) -> str:
    """*reproduced*, *partly* or *not reproduced* (see :data:`VERDICT_RULES`)."""
    return verdict_of(c.median_holds, c.fraction)


def _rule(ds, name: str, rule: str):
    return np.asarray(ds[name].sel(rule=rule).values, dtype=float)


def _p_corr(ds) -> list[float]:
    """The pair correlations of a Fig 4 sweep, rounded to two decimals (for lookups)."""
    return [float(v) for v in np.round(ds.p_corr.values.astype(float), 2)]


# ------------------------------------------------------------------------- Fig 3
def fig3_similar(ds, tol: float = 0.25) -> Claim:
    """Fig 3C: SB and DB reach about the same final test loss on MNIST 0-2 (within
    ``tol`` of the smaller)."""
    sb, db = _rule(ds, "final", "SB"), _rule(ds, "final", "DB")
    rel = np.abs(sb - db) / np.minimum(sb, db)
    msb, mdb = np.median(sb), np.median(db)
    return Claim("Fig 3C", "SB and DB reach about the same loss on MNIST 0-2",
                 f"final test losses within {100 * tol:.0f} %",
                 f"SB {fmt(sb)}, DB {fmt(db)}",
                 abs(msb - mdb) / min(msb, mdb) <= tol, float(np.mean(rel <= tol)), len(sb))


def fig3_sparse(ds, most: int = 2, share: float = 0.8) -> Claim:
    """Fig 3A/B: images are rarely coded by more than ``most`` neurons. Per network, the
    share of test images during which at most ``most`` neurons spike (``ds.active``: the
    number of neurons with at least one spike while an image is shown); the claim holds
    for a seed when that share is at least ``share`` in both its SB and its DB network."""
    few = {v: np.mean(_rule(ds, "active", v) <= most, axis=-1) for v in ("SB", "DB")}  # (seed,)
    each = (few["SB"] >= share) & (few["DB"] >= share)
    return Claim("Fig 3A/B", f"images are rarely coded by more than {most} neurons",
                 f"at most {most} neurons spike during >= {100 * share:.0f} % of test images",
                 f"share of images: SB {fmt(few['SB'], 2)}, DB {fmt(few['DB'], 2)}",
                 bool(min(np.median(few["SB"]), np.median(few["DB"])) >= share),
                 float(np.mean(each)), len(each))


# ------------------------------------------------------------------------- Fig 4
def fig4_db_below_sb(ds) -> Claim:
    """Fig 4B: DB's final loss is below SB's at every pair correlation. The value names the
    correlations where DB's median is not below SB's (with the ratio SB/DB of the medians),
    or, where it is below at every p, the losses at p = 0.7."""
    sb, db = _rule(ds, "final", "SB"), _rule(ds, "final", "DB")  # (p, seed)
    pc = _p_corr(ds)
    msb, mdb = np.median(sb, axis=1), np.median(db, axis=1)
    below = mdb < msb
    if below.all():
        i7 = pc.index(0.7) if 0.7 in pc else -1
        value = (f"below at all {len(pc)} p; at p = {pc[i7]:g}: SB {fmt(sb[i7])}, "
                 f"DB {fmt(db[i7])}")
    else:
        fails = ", ".join(f"{pc[j]:g} (SB/DB {msb[j] / mdb[j]:.2f})"
                          for j in np.flatnonzero(~below))
        value = f"below at {int(below.sum())} of {len(pc)} p; not at p = {fails}"
    return Claim("Fig 4B", "DB's loss is below SB's at every bar correlation p",
                 "median final test loss DB < SB at every p simulated", value,
                 bool(below.all()), float(np.mean(np.all(db < sb, axis=0))), sb.shape[1])


def fig4_sb_peaks(ds) -> Claim:
    """Fig 4B: SB's loss rises with the pair correlation and falls again towards p = 1
    (where the pairs themselves become the elementary features): its final loss peaks at
    an intermediate p, above its value at p = 0 and at the largest p simulated."""
    sb = _rule(ds, "final", "SB")  # (p, seed)
    pc = _p_corr(ds)

    def peaks(c):
        return bool(c[1:-1].max() > c[0] and c[1:-1].max() > c[-1])

    paper = "SB's loss rises with p and falls again towards p = 1"
    criterion = "SB's final test loss peaks at an intermediate p (above p = 0 and the largest p)"
    if len(pc) < 3:  # no intermediate correlation simulated (e.g. the smoke scale)
        return Claim("Fig 4B", paper, criterion,
                     f"needs at least 3 correlations, {len(pc)} simulated", False, 0.0,
                     sb.shape[1])
    med = np.median(sb, axis=1)
    k = 1 + int(np.argmax(med[1:-1]))
    return Claim("Fig 4B", paper, criterion,
                 f"SB at p = 0: {fmt(sb[0])}; at p = {pc[k]:g}: {fmt(sb[k])}; "
                 f"at p = {pc[-1]:g}: {fmt(sb[-1])}",
                 peaks(med), float(np.mean([peaks(sb[:, j]) for j in range(sb.shape[1])])),
                 sb.shape[1])


def fig4_single_bars(ds, p: float = 0.7) -> Claim:
    """Fig 4C: with correlated pairs DB neurons keep single bars, SB neurons merge them.

    Judged on the neurons whose field is a single bar (cosine with its best-matching bar
    above 0.9, :func:`eicore.dendritic.measures.bars_learned`): DB > SB. The value also gives
    the bars that are the best match of exactly one neuron, a weaker measure: a field that
    mixes its bar with the partner bar still matches its bar best."""
    j = _p_corr(ds).index(p)
    sb, db = _rule(ds, "single", "SB")[j], _rule(ds, "single", "DB")[j]
    usb, udb = _rule(ds, "unique", "SB")[j], _rule(ds, "unique", "DB")[j]
    return Claim("Fig 4C", "DB neurons learn single bars, SB neurons merge correlated bars",
                 f"neurons whose field is a single bar (cosine > 0.9) at p = {p}: DB > SB",
                 f"of 16 neurons: SB {fmt(sb, 1)}, DB {fmt(db, 1)}; bars matched by exactly "
                 f"one neuron: SB {fmt(usb, 1)}, DB {fmt(udb, 1)}",
                 bool(np.median(db) > np.median(sb)), float(np.mean(db > sb)), len(sb))


# ------------------------------------------------------------------------- Fig 5
def _sizes(ds) -> list[int]:
    """The network sizes of a Fig 5 sweep, smallest first (the full and reduced presets list
    them largest first)."""
    return sorted(int(v) for v in ds.n_z.values)


def _best(ds, rule):
    """Minimum test loss (n_z, seed), sizes smallest first."""
    return np.asarray(ds.best.sel(rule=rule, n_z=_sizes(ds)).values, dtype=float)


def fig5_db_better(ds) -> Claim:
    """Fig 5: DB codes natural-image patches better than SB at every network size."""
    sb, db = _best(ds, "SB"), _best(ds, "DB")
    nz = _sizes(ds)
    return Claim("Fig 5", "DB codes natural scenes better than SB at every size",
                 "minimum test loss DB < SB at every number of neurons",
                 f"{nz[0]} neurons: SB {fmt(sb[0])}, DB {fmt(db[0])}; "
                 f"{nz[-1]} neurons: SB {fmt(sb[-1])}, DB {fmt(db[-1])}",
                 bool(np.all(np.median(db, axis=1) < np.median(sb, axis=1))),
                 float(np.mean(np.all(db < sb, axis=0))), sb.shape[1])


def fig5_db_falls(ds) -> Claim:
    """Fig 5: DB's loss falls as neurons are added."""
    db = _best(ds, "DB")
    med = np.median(db, axis=1)
    return Claim("Fig 5", "DB's loss falls as neurons are added",
                 "minimum test loss of DB falls with every size step",
                 "DB: " + "; ".join(f"{n}: {fmt(d)}" for n, d in zip(_sizes(ds), db)),
                 bool(np.all(np.diff(med) < 0)), float(np.mean(np.all(np.diff(db, axis=0) < 0,
                                                                        axis=0))),
                 db.shape[1])


def fig5_gap_grows(ds) -> Claim:
    """Fig 5: the advantage of DB grows with compression (fewer neurons)."""
    sb, db = _best(ds, "SB"), _best(ds, "DB")
    gap = (sb - db) / db  # (n_z, seed), relative advantage of DB
    nz = _sizes(ds)
    return Claim("Fig 5", "the advantage of DB grows with compression (fewer neurons)",
                 f"relative gap (SB - DB) / DB larger with {nz[0]} than with {nz[-1]} neurons",
                 f"gap {nz[0]} neurons: {fmt(gap[0], 2)}; {nz[-1]} neurons: {fmt(gap[-1], 2)}",
                 bool(np.median(gap[0]) > np.median(gap[-1])), float(np.mean(gap[0] > gap[-1])),
                 sb.shape[1])


# ------------------------------------------------------------------------- Fig 6
def fig6b_breakdown(ds) -> Claim:
    """Fig 6B: at the longest delay SB codes MNIST worse than DB, with more similar fields
    and more synchronous spikes."""
    dt = float(max(ds.dt.values))
    r = ds.sel(dt=dt)
    parts = [(_rule(r, k, "SB"), _rule(r, k, "DB")) for k in ("final", "cos", "coincident")]
    med = all(np.median(s) > np.median(d) for s, d in parts)
    each = np.all([s > d for s, d in parts], axis=0)
    (ls, ld), (cs, cd), (ks, kd) = parts
    return Claim("Fig 6B", f"with a {dt:g} ms delay SB breaks down on MNIST, DB does not",
                 "SB > DB in loss, field similarity and synchronous spikes",
                 f"loss SB {fmt(ls)}, DB {fmt(ld)}; cosine SB {fmt(cs, 2)}, DB {fmt(cd, 2)}; "
                 f"coincident spikes SB {fmt(ks, 2)}, DB {fmt(kd, 2)}",
                 bool(med), float(np.mean(each)), len(ls))


def fig6b_delay_cost(ds) -> Claim:
    """Fig 6B: lengthening the delay from the shortest to the longest time step raises SB's
    final MNIST loss by a larger factor than DB's (seed pairs: SB and DB networks of the
    same seed). Needs at least two delays."""
    dts = sorted(float(d) for d in ds.dt.values)
    if len(dts) < 2:
        return Claim("Fig 6B", "a longer delay costs SB more than DB", "needs two delays",
                     f"only {dts[0]:g} ms run", False, 0.0, int(ds.sizes.get("seed", 0)))
    lo, hi = ds.sel(dt=dts[0]), ds.sel(dt=dts[-1])
    gs = _rule(hi, "final", "SB") / _rule(lo, "final", "SB")
    gd = _rule(hi, "final", "DB") / _rule(lo, "final", "DB")
    return Claim("Fig 6B", "a longer delay costs SB more than DB",
                 f"final loss at {dts[-1]:g} ms / at {dts[0]:g} ms larger for SB than DB",
                 f"loss grows {fmt(gs, 2)}-fold for SB, {fmt(gd, 2)}-fold for DB",
                 bool(np.median(gs) > np.median(gd)), float(np.mean(gs > gd)), len(gs))


#: Mean pairwise field cosine above which a network's fields count as collapsed onto one
#: (Fig 6A); :func:`fig6a_collapse` and :func:`fig6a_short_delay` share it.
COLLAPSE_COSINE = 0.95


def fig6a_collapse(ds, hi: float = COLLAPSE_COSINE, lo: float = 0.5) -> Claim:
    """Fig 6A: at the longest delay SB's fields collapse (mean pairwise cosine > ``hi``),
    DB's stay distinct (< ``lo``)."""
    dt = float(max(ds.dt.values))
    cs, cd = _rule(ds.sel(dt=dt), "cos", "SB"), _rule(ds.sel(dt=dt), "cos", "DB")
    return Claim("Fig 6A", f"with a {dt:g} ms delay all SB neurons learn the same weights, "
                 "DB neurons do not", f"field cosine SB > {hi}, DB < {lo}",
                 f"cosine SB {fmt(cs, 3)}, DB {fmt(cd, 3)}",
                 bool(np.median(cs) > hi and np.median(cd) < lo),
                 float(np.mean((cs > hi) & (cd < lo))), len(cs))


def fig6a_short_delay(ds, hi: float = COLLAPSE_COSINE) -> Claim:
    """Fig 6A: with the shortest delay of the scan SB's fields stay apart (mean pairwise
    cosine below the collapse level ``hi`` of :func:`fig6a_collapse`)."""
    dt = float(min(ds.dt.values))
    cs = _rule(ds.sel(dt=dt), "cos", "SB")
    return Claim("Fig 6A", f"with a {dt:g} ms delay SB neurons keep distinct weights",
                 f"field cosine SB < {hi}", f"cosine SB {fmt(cs, 3)}",
                 bool(np.median(cs) < hi), float(np.mean(cs < hi)), len(cs))


def fig6a_graceful(ds, factor: float = 1.25) -> Claim:
    """Fig 6A: over the delay scan DB degrades gracefully (final loss at the longest delay
    within ``factor`` of its best delay), SB does not (above ``factor`` times its best)."""
    fs = np.asarray(ds.final.sel(rule="SB").values, dtype=float)  # (dt, seed)
    fd = np.asarray(ds.final.sel(rule="DB").values, dtype=float)
    ms, md = np.median(fs, axis=1), np.median(fd, axis=1)
    med = md[-1] <= factor * md.min() and ms[-1] > factor * ms.min()
    each = (fd[-1] <= factor * fd.min(axis=0)) & (fs[-1] > factor * fs.min(axis=0))
    dt = float(max(ds.dt.values))
    return Claim("Fig 6A", "DB degrades gracefully with the delay, SB does not",
                 f"final loss at {dt:g} ms within {factor}x of the best delay for DB, above it "
                 "for SB", f"at {dt:g} ms: SB {fmt(fs[-1])}, DB {fmt(fd[-1])}; best delay: SB "
                 f"{ms.min():.4f}, DB {md.min():.4f} (medians)",
                 bool(med), float(np.mean(each)), fs.shape[1])


# ------------------------------------------------------------------------- Figs S2, S3
def variants_match(ds, figure: str, task: str, tol: float = 0.2) -> Claim:
    """Figs S2/S3: the learned DB variants reach the analytic DB's final loss (within
    ``tol``)."""
    ref = np.asarray(ds.final.sel(variant="DB").values, dtype=float)
    names = ("simultaneous", "slow", "decay")
    rel = {v: np.asarray(ds.final.sel(variant=v).values, dtype=float) / ref - 1.0 for v in names}
    med = all(abs(np.median(ds.final.sel(variant=v).values) / np.median(ref) - 1.0) <= tol
              for v in names)
    each = np.all([np.abs(rel[v]) <= tol for v in names], axis=0)
    return Claim(figure, f"learned DB variants perform like the analytic DB ({task})",
                 f"final loss of each learned variant within {100 * tol:.0f} % of the analytic DB",
                 f"analytic DB {fmt(ref)}; ratio - 1: "
                 + ", ".join(f"{v} {fmt(100 * rel[v], 0)} %" for v in names),
                 bool(med), float(np.mean(each)), len(ref))


def decay_at_own_rate(ds, control, tol: float = 0.2) -> Claim:
    """Fig S2: the "decay" network (``ds``, the experiment ``dendritic.figS2_variants``)
    ends within ``tol`` of the loss the analytic DB reaches at the same target rate, 5 Hz
    (``control``, the experiment ``dendritic.figS2_rate_control``); per seed, the decay
    network against the control network of the same seed."""
    dec = np.asarray(ds.final.sel(variant="decay").values, dtype=float)
    ref = np.asarray(control.final.sel(control="DB at 5 Hz", seed=ds.seed.values).values,
                     dtype=float)
    rel = dec / ref - 1.0
    med = abs(np.median(dec) / np.median(ref) - 1.0) <= tol
    return Claim("Fig S2", "the 'decay' network performs like the analytic DB at its own "
                 "rate (5 Hz)",
                 f"final loss within {100 * tol:.0f} % of the analytic DB at 5 Hz",
                 f"decay {fmt(dec)}, analytic DB at 5 Hz {fmt(ref)}; ratio - 1 "
                 f"{fmt(100 * rel, 0)} %", bool(med), float(np.mean(np.abs(rel) <= tol)),
                 len(ref))


def fig5_twice(ds) -> Claim:
    """Fig 5: SB needs about twice as many neurons as DB for a similar loss (here: SB with
    twice the neurons is at least as good as DB, for every size pair of the sweep)."""
    sb, db = _best(ds, "SB"), _best(ds, "DB")
    nz = _sizes(ds)
    pairs = [(nz.index(n), nz.index(2 * n)) for n in nz if 2 * n in nz]
    each = np.all([sb[j] <= db[i] for i, j in pairs], axis=0)
    med = all(np.median(sb[j]) <= np.median(db[i]) for i, j in pairs)
    return Claim("Fig 5", "SB needs about twice as many neurons as DB for the same loss",
                 "SB with 2n neurons reaches DB's loss with n neurons",
                 "; ".join(f"SB {nz[j]}: {fmt(sb[j])} vs DB {nz[i]}: {fmt(db[i])}"
                           for i, j in pairs),
                 bool(med), float(np.mean(each)), sb.shape[1])
