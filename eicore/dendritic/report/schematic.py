"""Schematic of the Part II neuron: somatic (SB) against dendritic (DB) balance.

:func:`draw_balance_schematic` draws one coding neuron twice, with its dendritic
compartments (one per input :math:`x_i`, weight :math:`F_{ji}`) and the inhibition from
the other neurons' traces :math:`y_k`: onto the soma (SB, weights :math:`W_{jk}`) or onto
each dendrite (DB, weights :math:`W_{jik}`, balanced at :math:`-F_{ji} D_{ik}`); cf. Fig 1
of Mikulasch, Rudelt & Priesemann (PNAS 2021). Shown in the chapter *Model* and on the
part's index page (``book/dendritic/schematic.svg``, written by ``python -m
eicore.dendritic.report.schematic book/dendritic/schematic.svg``).
"""

from __future__ import annotations

import sys

__all__ = ["draw_balance_schematic"]


def _neuron(ax, kind: str, color: str) -> None:
    """One neuron in the unit box [0, 10] x [0, 6] of ``ax``."""
    from matplotlib.patches import Circle, FancyArrowPatch

    soma = (7.6, 3.0)
    ax.add_patch(Circle(soma, 0.55, fc="0.85", ec="black", lw=1.5, zorder=3))
    ax.text(*soma, "$j$", ha="center", va="center", fontsize=11, zorder=4)
    # axon and output spikes
    ax.plot([8.15, 9.3], [3.0, 3.0], color="black", lw=1.5)
    ax.text(9.35, 3.0, "$s_j$", ha="left", va="center", fontsize=11)
    ys = (5.0, 3.0, 1.0)
    for i, y in enumerate(ys, start=1):
        # dendrite: from the soma out to the left
        ax.plot([2.2, 4.0, 7.1], [y, y, 3.0 + 0.35 * (y - 3.0) / 2.0], color="black", lw=1.5)
        # excitatory synapse of input x_i with weight F_ji
        ax.add_patch(FancyArrowPatch((0.25, y), (2.2, y), arrowstyle="-|>", mutation_scale=12,
                                     color="black", lw=1.2))
        ax.text(0.2, y + 0.3, f"$x_{i}$", ha="left", va="bottom", fontsize=11)
        ax.text(1.25, y - 0.3, f"$F_{{j{i}}}$", ha="center", va="top", fontsize=10)
        if kind == "DB":
            # inhibition from the other neurons onto this dendrite
            x0 = 3.1
            ax.plot([x0, x0], [y + 0.6, y + 0.08], color=color, lw=1.8)
            ax.plot([x0 - 0.22, x0 + 0.22], [y + 0.08, y + 0.08], color=color, lw=2.5)
            ax.text(x0, y + 0.62, f"$W_{{j{i}k}}\\,y_k$", ha="center", va="bottom",
                    fontsize=10, color=color)
    if kind == "SB":
        # inhibition from the other neurons onto the soma
        ax.plot([soma[0], soma[0]], [5.3, 3.62], color=color, lw=1.8)
        ax.plot([soma[0] - 0.25, soma[0] + 0.25], [3.62, 3.62], color=color, lw=2.5)
        ax.text(soma[0] + 0.2, 5.0, "$W_{jk}\\,y_k$", ha="left", va="center", fontsize=10,
                color=color)


def draw_balance_schematic(axes=None):
    """Draw the SB and the DB neuron side by side; returns the figure.

    ``axes``: two matplotlib axes to draw into (default: a new 7 x 3 in figure). Colours
    follow ``eicore.plotting.CONDITION_COLORS`` (SB orange, DB blue); flat-ended
    lines are inhibitory synapses, arrows excitatory ones.
    """
    import matplotlib.pyplot as plt

    from ...plotting import CONDITION_COLORS

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.0))
    else:
        fig = axes[0].figure
    titles = {
        "SB": "somatic balance (SB):\ninhibition $W_{jk}$ onto the soma",
        "DB": "dendritic balance (DB):\ninhibition $W_{jik} = -F_{ji}D_{ik}$ on each dendrite",
    }
    for ax, kind in zip(axes, ("SB", "DB"), strict=True):
        _neuron(ax, kind, CONDITION_COLORS[kind])
        ax.set_xlim(0, 10.4)
        ax.set_ylim(0.3, 6.3)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(titles[kind], fontsize=10, color=CONDITION_COLORS[kind])
    fig.tight_layout()
    return fig


if __name__ == "__main__":  # pragma: no cover - writes the image of the index page
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "eicore"
    plt.rcParams["svg.fonttype"] = "path"
    fig = draw_balance_schematic()
    fig.savefig(sys.argv[1] if len(sys.argv) > 1 else "schematic.svg",
                metadata={"Date": None})
