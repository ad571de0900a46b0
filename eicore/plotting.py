"""Shared figure style for the book: colour-blind-safe palette and sensible defaults.

Matplotlib is imported lazily, so the core does not depend on it; chapters call
:func:`use_style` once at the top.
"""

from __future__ import annotations

__all__ = ["PALETTE", "CONDITION_COLORS", "use_style", "integer_ticks"]

#: Okabe & Ito (2008) colour-blind-safe palette.
PALETTE = {
    "black": "#000000",
    "orange": "#E69F00",
    "skyblue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}

#: One colour per recurring condition, used consistently across the book.
CONDITION_COLORS = {
    "plastic": PALETTE["blue"],
    "output_ko": PALETTE["orange"],
    "input_ko": PALETTE["green"],
    "input_ko_heavy": PALETTE["purple"],
    "before": PALETTE["black"],
    "after": PALETTE["vermillion"],
    "SB": PALETTE["orange"],
    "DB": PALETTE["blue"],
    "BP": PALETTE["black"],
    "exact-inv": PALETTE["blue"],
    "lin-thresh": PALETTE["vermillion"],
}


def use_style() -> None:
    """Apply the book's matplotlib defaults (palette, font sizes, no top/right spines)."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "axes.prop_cycle": cycler(
                color=[PALETTE[k] for k in ("blue", "orange", "green", "vermillion",
                                            "purple", "skyblue", "yellow", "black")]
            ),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "font.size": 10,
            "axes.titlesize": 10,
            "axes.labelsize": 10,
            "legend.frameon": False,
            "image.cmap": "viridis",
        }
    )


def integer_ticks(ax, axis: str = "y") -> None:
    """Put ticks only at whole numbers on ``axis`` ("x", "y" or "both") of ``ax``: for axes
    that count cells, synapses or samples, so that no tick reads "2.5 cells"."""
    from matplotlib.ticker import MaxNLocator

    for name in ("x", "y") if axis == "both" else (axis,):
        getattr(ax, f"{name}axis").set_major_locator(MaxNLocator(integer=True))
