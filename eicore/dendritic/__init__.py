"""Local dendritic balance (Mikulasch, Rudelt & Priesemann, PNAS 2021): Part II of the book.

Stochastic spiking networks that learn efficient codes, with somatic balance (SB,
Hebbian input rule) or dendritic balance (DB, the exact decoder gradient made local by
dendritic inhibition). Modules: :mod:`.network` (state, variants), :mod:`.simulate`
(batched discrete-time dynamics and block-wise learning), :mod:`.inputs` (tasks and
fade), :mod:`.measures` (losses, receptive-field statistics), :mod:`.presets`.
"""

from .inputs import BarsStream, SequenceStream, fade_weights, mnist012, scenes_patterns
from .network import VARIANTS, Network, make_network
from .simulate import LogisticNoise, Simulation, block_length, block_lengths, event_driven_update

__all__ = [
    "VARIANTS",
    "BarsStream",
    "LogisticNoise",
    "Network",
    "SequenceStream",
    "Simulation",
    "block_length",
    "block_lengths",
    "event_driven_update",
    "fade_weights",
    "make_network",
    "mnist012",
    "scenes_patterns",
]
