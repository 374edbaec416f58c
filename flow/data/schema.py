"""Column names, class names and the mapping from the public column spellings to ours.

The 16 features keep the public OpenML ``hls4ml_lhc_jets_hlf`` (data id 42468) names and order.
Energies are transverse momenta, angles are rapidity-azimuth distances R_ij, and z_i = pT_i / sum pT:

- ``zlogz`` = sum_i z_i ln z_i over the ungroomed jet; ``multiplicity`` = number of ungroomed
  constituents.
- The rest are on the mMDT-groomed jet (SoftDrop beta = 0, z_cut = 0.1, C/A), with
  e2(b) = sum_{i<j} z_i z_j R_ij^b and e3(b) = sum_{i<j<k} z_i z_j z_k (R_ij R_ik R_jk)^b:
  ``c1_b{b}_mmdt`` = e2(b) for b = 0, 1, 2; ``c2_b{b}_mmdt`` = e3(b) / e2(b)^2;
  ``d2_b{b}_mmdt`` = e3(b) / e2(b)^3; ``d2_a1_b{b}_mmdt`` = e3(1) / e2(b)^(3/b);
  ``m2_b{b}_mmdt`` = sum_{i<j<k} z_i z_j z_k min(R^b) / e2(b);
  ``n2_b{b}_mmdt`` = sum_{i<j<k} z_i z_j z_k (product of the two smallest R^b) / e2(b)^2;
  ``mass_mmdt`` = groomed jet mass in GeV.
"""

from __future__ import annotations

FEATURE_NAMES: tuple[str, ...] = (
    "zlogz",
    "c1_b0_mmdt",
    "c1_b1_mmdt",
    "c1_b2_mmdt",
    "c2_b1_mmdt",
    "c2_b2_mmdt",
    "d2_b1_mmdt",
    "d2_b2_mmdt",
    "d2_a1_b1_mmdt",
    "d2_a1_b2_mmdt",
    "m2_b1_mmdt",
    "m2_b2_mmdt",
    "n2_b1_mmdt",
    "n2_b2_mmdt",
    "mass_mmdt",
    "multiplicity",
)

CLASS_NAMES: tuple[str, ...] = ("g", "q", "w", "z", "t")

#: Name of the label column in CSV, Parquet and ARFF files (the OpenML target).
LABEL_COLUMN = "class"

#: Other spellings of the label column that are accepted on load.
LABEL_ALIASES: tuple[str, ...] = ("class", "label", "labels", "target", "y")

#: One-hot label columns of the LogicNets/MASE HDF5 file (``j_g`` ... ``j_t``).
ONE_HOT_COLUMNS: tuple[str, ...] = tuple(f"j_{c}" for c in CLASS_NAMES)

#: Optional kinematic columns kept alongside the features.
KINEMATIC_COLUMNS: tuple[str, ...] = ("pt", "eta")

#: Accepted spellings of the class values (case-insensitive) -> label index.
CLASS_ALIASES: dict[str, int] = {
    "g": 0,
    "gluon": 0,
    "q": 1,
    "quark": 1,
    "w": 2,
    "z": 3,
    "t": 4,
    "top": 4,
}


def canonical_column(name: str) -> str:
    """Map a column spelling to ours: lower case, no ``j_`` prefix (LogicNets names ``j_zlogz``)."""
    key = str(name).strip().lower()
    if key.startswith("j_") and key[2:] in FEATURE_NAMES + KINEMATIC_COLUMNS:
        return key[2:]
    return key
