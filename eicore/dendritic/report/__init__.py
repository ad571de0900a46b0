"""Figures and tables of Part II that are not simulations: the neuron schematic
(:mod:`eicore.dendritic.report.schematic`) and the summary of the paper's claims over
seeds (:mod:`eicore.dendritic.report.claims`).

Kept apart from the simulation modules, so that changing a drawing or a table does not
make the stored results of the registered experiments stale.
"""
