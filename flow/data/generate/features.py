"""The 16 JSC features of jets, with FastJet contrib (SoftDrop/mMDT and EnergyCorrelator).

Formulas (z_i = pT_i / sum pT, R_ij the rapidity-phi distance; the contrib ``pt_R`` measure):

- zlogz = sum_i z_i ln z_i and multiplicity = number of constituents, on the ungroomed jet;
- the jet is reclustered with C/A and groomed with mMDT (SoftDrop beta = 0, z_cut = 0.1); on the
  groomed constituents, with e2(b) = sum_{i<j} z_i z_j R_ij^b and
  e3(b) = sum_{i<j<k} z_i z_j z_k (R_ij R_ik R_jk)^b:
  C1_b = e2(b) (b = 0, 1, 2), C2_b = e3(b)/e2(b)^2, D2_b = e3(b)/e2(b)^3,
  D2(alpha=1, b) = e3(1)/e2(b)^(3/b), M2_b = sum z_i z_j z_k min(R^b)/e2(b),
  N2_b = sum z_i z_j z_k (product of the two smallest R^b)/e2(b)^2, mass_mmdt = groomed mass.

:mod:`flow.data.generate.reference` computes the same numbers in plain numpy for cross-checks.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from flow.data.generate.clustering import quiet_fastjet
from flow.data.generate.settings import JetSettings
from flow.data.schema import FEATURE_NAMES

#: Normalised generalised correlators used: name -> (npoint, angles, beta); ``angles=-1`` is the plain
#: e_N (all N(N-1)/2 angles), ``angles=1`` keeps the smallest angle (1e3), ``angles=2`` the product of
#: the two smallest (2e3). Each is one ``exclusive_jets_energy_correlator(func="generalized")`` call.
ECFG_CALLS: dict[str, tuple[int, int, int]] = {
    "e2_b0": (2, -1, 0),
    "e2_b1": (2, -1, 1),
    "e2_b2": (2, -1, 2),
    "e3_b1": (3, -1, 1),
    "e3_b2": (3, -1, 2),
    "1e3_b1": (3, 1, 1),
    "1e3_b2": (3, 1, 2),
    "2e3_b1": (3, 2, 1),
    "2e3_b2": (3, 2, 2),
}


def ratios(ecf: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The 13 groomed ratio features from e2(b), e3(b), 1e3(b), 2e3(b) (see the module docstring).

    These equal contrib's EnergyCorrelatorC1/C2 (DoubleRatio), D2, GeneralizedD2(alpha=1), M2 and N2
    with the pt_R measure; computing them from 9 correlators instead of 13 ratio objects saves the
    repeated O(n^3) sums.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {f"c1_b{b}_mmdt": ecf[f"e2_b{b}"] for b in (0, 1, 2)}
        for b in (1, 2):
            e2, e3 = ecf[f"e2_b{b}"], ecf[f"e3_b{b}"]
            out[f"c2_b{b}_mmdt"] = e3 / e2**2
            out[f"d2_b{b}_mmdt"] = e3 / e2**3
            out[f"d2_a1_b{b}_mmdt"] = ecf["e3_b1"] / e2 ** (3.0 / b)
            out[f"m2_b{b}_mmdt"] = ecf[f"1e3_b{b}"] / e2
            out[f"n2_b{b}_mmdt"] = ecf[f"2e3_b{b}"] / e2**2
    return out


def _one_jet_sequence(constituents: ak.Array):
    """A ClusterSequence per jet that can merge all its constituents into one jet (C/A, max R)."""
    import fastjet

    quiet_fastjet()
    jet_def = fastjet.JetDefinition(fastjet.cambridge_algorithm, fastjet.JetDefinition.max_allowable_R)
    return fastjet.ClusterSequence(constituents, jet_def)


def ungroomed_features(constituents: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    """(zlogz, multiplicity) per jet: sum_i z_i ln z_i with z_i = pT_i / sum pT, and the count."""
    pt = np.hypot(constituents.px, constituents.py)
    z = pt / ak.sum(pt, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        zlogz = ak.sum(ak.where(z > 0, z * np.log(z), 0.0), axis=1)
    return ak.to_numpy(zlogz).astype(np.float64), ak.to_numpy(ak.num(constituents, axis=1)).astype(np.float64)


def groom(constituents: ak.Array, settings: JetSettings) -> tuple[ak.Array, np.ndarray]:
    """mMDT/SoftDrop-groomed constituents and groomed mass of each jet."""
    cs = _one_jet_sequence(constituents)
    sd = cs.exclusive_jets_softdrop_grooming(
        njets=1, beta=settings.softdrop_beta, symmetry_cut=settings.softdrop_zcut, R0=settings.radius
    )
    return sd.constituents, ak.to_numpy(sd.msoftdrop).astype(np.float64)


def jet_features(constituents: ak.Array, settings: JetSettings) -> np.ndarray:
    """Features [n_jets, 16] in FEATURE_NAMES order; NaN/inf where a ratio is undefined (for example a
    groomed jet of one constituent, where e2 = 0)."""
    n = len(constituents)
    out = np.full((n, len(FEATURE_NAMES)), np.nan)
    if n == 0:
        return out
    zlogz, mult = ungroomed_features(constituents)
    out[:, FEATURE_NAMES.index("zlogz")] = zlogz
    out[:, FEATURE_NAMES.index("multiplicity")] = mult
    groomed, mass = groom(constituents, settings)
    out[:, FEATURE_NAMES.index("mass_mmdt")] = mass
    cs = _one_jet_sequence(groomed)
    ecf = {}
    for name, (npoint, angles, beta) in ECFG_CALLS.items():
        values = cs.exclusive_jets_energy_correlator(
            njets=1, func="generalized", npoint=npoint, angles=angles, beta=beta, normalized=True
        )
        ecf[name] = ak.to_numpy(ak.flatten(values, axis=None)).astype(np.float64)
    for name, values in ratios(ecf).items():
        out[:, FEATURE_NAMES.index(name)] = values
    return out
