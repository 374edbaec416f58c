"""Offline JSC-like jet generation: Pythia 8 events, a simple detector, FastJet anti-kT jets, truth
labels, mMDT grooming and energy-correlator features (FastJet contrib), in reproducible chunks.

Modules: :mod:`settings` (typed settings), :mod:`pythia` (process cards, seeds), :mod:`detector`,
:mod:`clustering`, :mod:`truth`, :mod:`features` (contrib) and :mod:`reference` (plain numpy),
:mod:`chunk` (one chunk), :mod:`runner` (workers, resume, output).
"""

from flow.data.generate.settings import DetectorSettings, GeneratorSettings, JetSettings

__all__ = ["DetectorSettings", "GeneratorSettings", "JetSettings", "generate"]


def generate(*args, **kwargs):
    """See :func:`flow.data.generate.runner.generate`."""
    from flow.data.generate.runner import generate as _generate

    return _generate(*args, **kwargs)
