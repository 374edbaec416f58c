"""Pythia 8 configuration per class and per-chunk seeding.

13 TeV pp, default (Monash) tune with MPI, ISR and FSR on, pThat > 1 TeV. Hadronic W and Z decays
(``onIfAny = 1 2 3 4 5``); ``qg2qg`` is left out of the quark sample because about half of its leading
jets are gluons.
"""

from __future__ import annotations

import numpy as np

from flow.data.generate.settings import GeneratorSettings
from flow.data.schema import CLASS_NAMES

_W_HADRONIC = ("24:onMode = off", "24:onIfAny = 1 2 3 4 5")

PROCESS_SETTINGS: dict[str, tuple[str, ...]] = {
    "g": ("HardQCD:gg2gg = on", "HardQCD:qqbar2gg = on"),
    "q": (
        "HardQCD:qq2qq = on",
        "HardQCD:qqbar2qqbarNew = on",
        "HardQCD:gg2qqbar = on",
        "HardQCD:nQuarkNew = 3",
    ),
    "w": ("WeakDoubleBoson:ffbar2WW = on", *_W_HADRONIC),
    "z": (
        "WeakDoubleBoson:ffbar2gmZgmZ = on",
        "WeakZ0:gmZmode = 2",
        "23:onMode = off",
        "23:onIfAny = 1 2 3 4 5",
    ),
    "t": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", *_W_HADRONIC),
}

#: Pythia accepts Random:seed in 1..900000000.
_PYTHIA_SEED_MAX = 900_000_000


def chunk_seeds(seed: int, cls: str, chunk: int) -> tuple[int, np.random.SeedSequence]:
    """(Pythia seed, numpy seed sequence for the detector) of chunk ``chunk`` of class ``cls``.

    Both derive only from (``seed``, index of ``cls`` in CLASS_NAMES, ``chunk``) via numpy's
    SeedSequence, so a chunk is the same whatever worker runs it and whatever else is generated.
    """
    ss = np.random.SeedSequence([seed, CLASS_NAMES.index(cls), chunk, 0x4A5C])
    pythia_ss, detector_ss = ss.spawn(2)
    pythia_seed = int(pythia_ss.generate_state(1, np.uint64)[0] % _PYTHIA_SEED_MAX) + 1
    return pythia_seed, detector_ss


def pythia_lines(cls: str, settings: GeneratorSettings, pythia_seed: int) -> list[str]:
    """The Pythia ``readString`` lines for one chunk of class ``cls``."""
    return [
        f"Beams:eCM = {settings.ecm:.1f}",
        f"PhaseSpace:pTHatMin = {settings.pthat_min:.1f}",
        "Random:setSeed = on",
        f"Random:seed = {pythia_seed}",
        "Print:quiet = on",
        "Next:numberCount = 0",
        *PROCESS_SETTINGS[cls],
    ]


_TEMPLATE = None


def _template():
    """Settings and particle data of a pristine Pythia, read from XML once per process; copying them
    into each chunk's Pythia saves re-reading the XML database (~0.07 s per chunk)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        import pythia8mc

        _TEMPLATE = pythia8mc.Pythia("", False)
    return _TEMPLATE.settings, _TEMPLATE.particleData


def make_pythia(cls: str, settings: GeneratorSettings, pythia_seed: int):
    """An initialised, quiet ``pythia8mc.Pythia`` for one chunk."""
    import pythia8mc

    from flow.errors import DataError

    pythia = pythia8mc.Pythia(*_template(), False)
    for line in pythia_lines(cls, settings, pythia_seed):
        if not pythia.readString(line):
            raise DataError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise DataError(f"Pythia failed to initialise for class {cls!r}; check --ecm and the pT settings")
    return pythia
