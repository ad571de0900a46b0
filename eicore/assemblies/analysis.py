"""Analyses of trained networks used by the figure chapters (Figs 1-4).

Mackwood et al. (2021), Materials and methods, "Quantitative measures" and
"Perturbation experiments". Thin wrappers around :mod:`eicore.measures` that know
which synapses and cells to pair. All inputs/outputs are host arrays.
"""

from __future__ import annotations

from typing import Any

from ..backend import host, to_numpy
from ..errors import ShapeError
from ..measures import (
    binned_mean,
    pearson,
    response_similarity,
    rf_correlation,
    sampled_correlation_test,
    skewness,
)
from .experiment import Sweep
from .network import Network

__all__ = [
    "current_similarity",
    "grid3",
    "influence_vs_rf",
    "influence_vs_rf_sums",
    "output_weight_vs_influence",
    "existing_weights",
    "sampling_fractions",
    "selectivity",
    "share_below",
    "weight_rs_pairs",
]

#: Correlations measured by Znamenskiy et al. (2018), Fig 2f.
ZNAMENSKIY_R = {"output_vs_rs": 0.55, "input_vs_output": 0.52}


def grid3(x: Any) -> Any:
    """A per-stimulus host vector ``(n^3,)`` as the stimulus grid ``(n, n, n)`` (axes as in
    :func:`.network.stimulus_grid`), for maps of tuning (Figs 1b, 1d, 1f)."""
    x = to_numpy(x)
    n = round(x.shape[0] ** (1 / 3))
    if n**3 != x.shape[0]:
        raise ShapeError(f"grid3 needs n^3 stimuli, got {x.shape[0]}")
    return x.reshape(n, n, n)


def selectivity(sw: Sweep, b: int) -> tuple[Any, Any]:
    """Skewness selectivity (Eq 6) of Pyr and PV cells of network ``b``: ``(NE,), (NI,)``."""
    return skewness(sw.rE[b], axis=0), skewness(sw.rI[b], axis=0)


def existing_weights(net: Network, b: int, name: str) -> Any:
    """The weights of the synapses that exist (``z > 0``) of matrix ``W_<name>``
    (``"EI"``: PV -> Pyr, ``"IE"``: Pyr -> PV) of network ``b``, a host vector."""
    w = to_numpy(getattr(net, f"W_{name}"))[b]
    return w[to_numpy(getattr(net, f"z_{name}"))[b] > 0]


def share_below(net: Network, b: int, name: str, theta: float = 1e-4) -> float:
    """Fig 1-S5: the share of existing synapses of ``W_<name>`` in network ``b`` whose
    weight is below the detection threshold ``theta`` of the sampling tests (Fig 1e)."""
    return float(host.mean(existing_weights(net, b, name) < theta))


def weight_rs_pairs(net: Network, sw: Sweep, b: int, theta: float = 1e-4) -> dict[str, tuple]:
    """Pairs for the three correlations of Fig 1e (synapses below ``theta`` excluded).

    ``output_vs_rs``: ``(W_EI_ji, RS(Pyr j, PV i))`` over PV -> Pyr synapses;
    ``input_vs_rs``: ``(W_IE_ij, RS(Pyr j, PV i))`` over Pyr -> PV synapses;
    ``input_vs_output``: ``(W_IE_ij, W_EI_ji)`` over reciprocally connected pairs.
    """
    RS = to_numpy(response_similarity(sw.rE[b], sw.rI[b]))  # (NE, NI)
    W_EI = to_numpy(net.W_EI)[b]
    W_IE = to_numpy(net.W_IE)[b].T  # (NE, NI), entry (j, i) = Pyr j -> PV i
    z_EI = (to_numpy(net.z_EI)[b] > 0) & (W_EI >= theta)
    z_IE = (to_numpy(net.z_IE)[b].T > 0) & (W_IE >= theta)
    both = z_EI & z_IE
    return {
        "output_vs_rs": (W_EI[z_EI], RS[z_EI]),
        "input_vs_rs": (W_IE[z_IE], RS[z_IE]),
        "input_vs_output": (W_IE[both], W_EI[both]),
    }


def sampling_fractions(net: Network, sw: Sweep, b: int, *, n: int = 100, repeats: int = 10000,
                       alpha: float = 0.01, theta: float = 1e-4, seed: int = 0
                       ) -> dict[str, dict]:
    """Figs 2f / 3e: for each correlation, the repeated-sampling test result
    (:func:`eicore.measures.sampled_correlation_test`) with Znamenskiy's r as reference."""
    out = {}
    for k, (x, y) in weight_rs_pairs(net, sw, b, theta).items():
        out[k] = sampled_correlation_test(x, y, n=n, repeats=repeats, alpha=alpha,
                                          r_ref=ZNAMENSKIY_R.get(k), seed=seed)
    return out


def current_similarity(sw: Sweep, b: int) -> Any:
    """RS (Eq 5) between the excitatory and inhibitory current of each Pyr cell, ``(NE,)``.

    Currents are mean-subtracted over stimuli first (co-tuning of the stimulus-dependent
    parts; the raw currents are positive, which makes Eq 5 close to 1 for any pair).
    """
    exc = sw.exc[b] - sw.exc[b].mean(0, keepdims=True)
    inh = sw.inh[b] - sw.inh[b].mean(0, keepdims=True)
    num = (exc * inh).sum(0)
    den = host.sqrt((exc**2).sum(0) * (inh**2).sum(0))
    return host.where(den > 0, num / host.where(den > 0, den, 1.0), 0.0)


def influence_vs_rf(influence: Any, cells: Any, rE: Any, n_bins: int = 9,
                    exclude_self: bool = True) -> dict[str, Any]:
    """Fig 4d: influence binned by the RF correlation of perturbed and measured cell.

    ``influence (P, S', NE)`` from :func:`perturbation_influence` for one network,
    ``cells (P,)`` the perturbed cells, ``rE (S, NE)`` the responses to all stimuli
    (RF correlation = Pearson r over stimuli). Returns bin centres, means, SEMs, counts,
    and the least-squares slope and Pearson r of influence vs RF correlation over all pairs.
    """
    cells = host.asarray(to_numpy(cells)).astype(int)
    C = to_numpy(rf_correlation(rE))[cells]  # (P, NE)
    infl = to_numpy(influence).mean(axis=1)  # average over stimuli: (P, NE)
    P, NE = C.shape
    keep = host.ones((P, NE), dtype=bool)
    if exclude_self:
        keep[host.arange(P), cells] = False
    c_all = host.broadcast_to(C[:, None, :], influence.shape)
    k_all = host.broadcast_to(keep[:, None, :], influence.shape)
    x, y = c_all[k_all], to_numpy(influence)[k_all]
    centres, mean, sem, cnt = binned_mean(x, y, n_bins)
    slope = float(host.polyfit(C[keep], infl[keep], 1)[0])
    return dict(centres=centres, mean=mean, sem=sem, count=cnt, slope=slope,
                r=float(pearson(C[keep], infl[keep])))


def influence_vs_rf_sums(mean: Any, sum1: Any, sum2: Any, n_stim: int, cells: Any, rE: Any,
                         n_bins: int = 9, exclude_self: bool = True) -> dict[str, Any]:
    """:func:`influence_vs_rf` from per-pair sums over stimuli instead of all influences.

    ``mean (P, NE)`` is the influence averaged over the ``n_stim`` stimuli, ``sum1`` and
    ``sum2 (P, NE)`` the sums of the influence and of its square over them (float64), so
    a long perturbation protocol need not keep every stimulus. Bins, means, SEMs and counts
    are those of :func:`influence_vs_rf` (up to the order of summation); slope and r are
    computed from ``mean`` exactly as there.
    """
    cells = host.asarray(to_numpy(cells)).astype(int)
    C = to_numpy(rf_correlation(rE))[cells]  # (P, NE)
    infl = to_numpy(mean)
    P, NE = C.shape
    keep = host.ones((P, NE), dtype=bool)
    if exclude_self:
        keep[host.arange(P), cells] = False
    x = C[keep].astype(host.float64)
    edges = host.linspace(x.min() - 1e-3, x.max() + 1e-3, n_bins + 1)
    k = host.clip(host.digitize(x, edges) - 1, 0, n_bins - 1)
    cnt = host.bincount(k, minlength=n_bins).astype(host.float64) * n_stim
    s1 = host.bincount(k, weights=to_numpy(sum1)[keep], minlength=n_bins)
    s2 = host.bincount(k, weights=to_numpy(sum2)[keep], minlength=n_bins)
    with host.errstate(invalid="ignore", divide="ignore"):
        m = s1 / cnt
        var = (s2 - cnt * m**2) / (cnt - 1)
        sem = host.sqrt(host.maximum(var, 0.0) / cnt)
    slope = float(host.polyfit(C[keep], infl[keep], 1)[0])
    return dict(centres=0.5 * (edges[1:] + edges[:-1]), mean=m, sem=sem, count=cnt,
                slope=slope, r=float(pearson(C[keep], infl[keep])))


def output_weight_vs_influence(W_IE: Any, influence: Any, cells: Any) -> tuple[Any, Any, float]:
    """Fig 4e: total Pyr -> PV weight of each perturbed cell vs its mean influence on the
    other Pyr cells (averaged over stimuli).

    ``W_IE (NI, NE)`` of one network, ``influence (P, S', NE)``, ``cells (P,)``; returns
    ``(total_weight (P,), mean_influence (P,), Pearson r)``.
    """
    cells = host.asarray(to_numpy(cells)).astype(int)
    tot = to_numpy(W_IE)[:, cells].sum(0)
    infl = to_numpy(influence).mean(axis=1)  # (P, NE)
    mask = host.ones_like(infl, dtype=bool)
    mask[host.arange(len(cells)), cells] = False
    mean_infl = host.where(mask, infl, 0.0).sum(1) / mask.sum(1)
    return tot, mean_infl, float(pearson(tot, mean_infl))
