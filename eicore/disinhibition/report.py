"""Figures for the book's Part III that are drawn rather than computed.

:func:`draw_microcircuit_schematic` draws the E/I microcircuit of Rossbroich & Zenke (2023)
with its top-down controller (chapter "The microcircuit and its control" and the part's
introduction; the equations are those of ``src/core/model.py`` in the authors' repository
``fmi-basel/disinhibitory-control``).
"""

from __future__ import annotations

__all__ = ["draw_microcircuit_schematic"]


def _arrow(ax, p, q, color, inhibitory=False, rad=0.0, lw=1.4, shrink=14):
    from matplotlib.patches import FancyArrowPatch

    style = "-[,widthB=0.35,lengthB=0" if inhibitory else "-|>,head_width=0.25,head_length=0.5"
    ax.add_patch(FancyArrowPatch(p, q, arrowstyle=style, mutation_scale=14, color=color, lw=lw,
                                 shrinkA=shrink, shrinkB=shrink,
                                 connectionstyle=f"arc3,rad={rad}"))


def draw_microcircuit_schematic(ax=None, figsize=(7.0, 2.8)):
    """Draw the Part III network: E/I pairs per hidden unit, readout and leaky PI controller.

    Each hidden unit is an excitatory neuron (E, triangle) with its own inhibitory partner
    (I, circle): E excites I (+1), I inhibits E (-1). The readout :math:`u_\\mathrm{out}` is
    compared with the target :math:`y^*` by a leaky PI controller whose output :math:`c`
    reaches the readout directly and the I neurons of layer :math:`l` through the feedback
    weights :math:`Q_l` with a minus sign (dis-inhibition).

    Parameters
    ----------
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure of size ``figsize`` is made if omitted.
    figsize : tuple of float
        Size in inches of the new figure (fits the book's 7.8-inch column).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyBboxPatch, RegularPolygon

    from ..plotting import PALETTE

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 3.85)
    ax.set_aspect("equal")
    ax.axis("off")
    exc, inh, ctrl, ff = PALETTE["blue"], PALETTE["vermillion"], PALETTE["green"], "0.35"
    fs = 10

    # input
    ax.text(0.55, 2.9, "$x = r_0$", ha="center", va="center", fontsize=fs)
    layers = [(2.6, "1"), (5.0, "L")]
    prev = (0.55, 2.9)
    for k, (xl, name) in enumerate(layers):
        e = (xl, 2.9)
        i = (xl + 0.55, 1.55)
        ax.add_patch(RegularPolygon(e, 3, radius=0.36, color=exc))
        ax.add_patch(Circle(i, 0.27, color=inh))
        ax.text(e[0] - 0.05, e[1] + 0.55, f"E, layer {name}", ha="center", fontsize=fs, color=exc)
        ax.text(i[0] + 0.4, i[1] - 0.1, "I", ha="left", va="center", fontsize=fs, color=inh)
        _arrow(ax, prev, e, ff)
        ax.text(0.5 * (prev[0] + e[0]), e[1] + 0.15, f"$W_{name}$", ha="center", fontsize=fs,
                color=ff)
        _arrow(ax, e, i, exc, rad=-0.35, shrink=12)
        _arrow(ax, i, e, inh, inhibitory=True, rad=-0.35, shrink=12)
        ax.text(e[0] - 0.52, 2.0, "$-1$", ha="center", fontsize=9, color=inh)
        ax.text(e[0] + 0.9, 2.35, "$+1$", ha="center", fontsize=9, color=exc)
        prev = e
        if k == 0:
            ax.text(3.95, 2.9, "...", ha="center", va="center", fontsize=fs)
            prev = (3.95, 2.9)
    out = (7.2, 2.9)
    ax.add_patch(Circle(out, 0.3, facecolor="white", edgecolor="k", lw=1.2))
    ax.text(out[0], out[1] + 0.42, r"readout $u_\mathrm{out}$", ha="center", fontsize=fs)
    _arrow(ax, prev, out, ff)
    ax.text(6.2, 3.05, r"$W_\mathrm{out}$", ha="center", fontsize=fs, color=ff)

    # controller
    box = (7.9, 0.45)
    ax.add_patch(FancyBboxPatch(box, 1.9, 1.0, boxstyle="round,pad=0.05", facecolor="white",
                                edgecolor=ctrl, lw=1.4))
    ax.text(box[0] + 0.95, box[1] + 0.68, "leaky PI", ha="center", fontsize=fs, color=ctrl)
    ax.text(box[0] + 0.95, box[1] + 0.25, r"$e = y^* - \mathrm{softmax}$", ha="center",
            fontsize=9, color=ctrl)
    ax.text(9.4, 3.4, "target $y^*$", ha="center", fontsize=fs)
    _arrow(ax, (9.4, 3.3), (9.4, 1.55), "k", shrink=2)
    _arrow(ax, (out[0] + 0.3, out[1] - 0.2), (8.4, 1.55), "k", shrink=2)
    # c back to the readout
    _arrow(ax, (7.9, 1.2), (out[0] - 0.05, out[1] - 0.3), ctrl, shrink=2, rad=-0.25)
    ax.text(7.25, 1.8, "$+c$", fontsize=fs, color=ctrl, ha="right")
    # c down to the I neurons via Q_l (dis-inhibition)
    ax.plot([7.9, 2.6 + 0.55], [0.6, 0.6], color=ctrl, lw=1.4)
    for xl, name in layers:
        _arrow(ax, (xl + 0.55, 0.6), (xl + 0.55, 1.55), ctrl, inhibitory=True, shrink=0)
        ax.text(xl + 0.65, 0.85, rf"$-Q_{name}^\top c$", fontsize=9, color=ctrl, ha="left")
    ax.text(4.9, 0.15, "top-down control: dis-inhibits E where the output should rise",
            ha="center", fontsize=9, color=ctrl)
    fig.tight_layout()
    return fig
