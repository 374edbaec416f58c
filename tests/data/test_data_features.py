"""Feature formulas on hand-built jets with known answers; FastJet contrib vs the numpy reference."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from flow.data import FEATURE_NAMES
from flow.data.generate import reference as ref
from flow.data.generate.features import jet_features
from flow.data.generate.settings import JetSettings


def p4(pt, y, phi, m=0.0):
    """Four-vectors [n, 4] from pT, rapidity, phi (and mass)."""
    pt, y, phi = (np.asarray(a, dtype=np.float64) for a in (pt, y, phi))
    mt = np.sqrt(pt**2 + m**2)
    return np.stack([pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y), mt * np.cosh(y)], axis=1)


def contrib(*jets: np.ndarray) -> np.ndarray:
    arr = ak.Array([[{"px": a, "py": b, "pz": c, "E": d} for a, b, c, d in j] for j in jets])
    return jet_features(arr, JetSettings())


def col(name: str) -> int:
    return FEATURE_NAMES.index(name)


def test_equilateral_three_prong_has_closed_form_values():
    """Three equal-pT massless particles at the corners of a triangle of side d in (y, phi):
    z = 1/3, every R = d, so e2(b) = d^b / 3, e3(b) = d^(3b) / 27, C1_b = d^b / 3, C2_b = d^b / 3,
    D2_b = 1, D2(1, b) = e3(1) / e2(b)^(3/b) = (d^3/27) / (d^3 / 3^(3/b)) = 3^(3/b - 3),
    M2_b = (d^b/27) / (d^b/3) = 1/9, N2_b = (d^(2b)/27) / (d^(2b)/9) = 1/3, zlogz = ln(1/3)."""
    d = 0.3
    y = np.array([0.0, d, d / 2])
    phi = np.array([1.0, 1.0, 1.0 + d * np.sqrt(3) / 2])
    jet = p4([300.0, 300.0, 300.0], y, phi)
    expected = {
        "zlogz": np.log(1 / 3),
        "multiplicity": 3,
        "c1_b0_mmdt": 1 / 3,
        "c1_b1_mmdt": d / 3,
        "c1_b2_mmdt": d**2 / 3,
        "c2_b1_mmdt": d / 3,
        "c2_b2_mmdt": d**2 / 3,
        "d2_b1_mmdt": 1.0,
        "d2_b2_mmdt": 1.0,
        "d2_a1_b1_mmdt": 1.0,
        "d2_a1_b2_mmdt": 3**-1.5,
        "m2_b1_mmdt": 1 / 9,
        "m2_b2_mmdt": 1 / 9,
        "n2_b1_mmdt": 1 / 3,
        "n2_b2_mmdt": 1 / 3,
    }
    got_ref = ref.jet_features(jet)
    got_contrib = contrib(jet)[0]
    for name, value in expected.items():
        assert got_ref[col(name)] == pytest.approx(value, rel=1e-9), name
        assert got_contrib[col(name)] == pytest.approx(value, rel=1e-9), name
    # Invariant mass of three massless particles: m^2 = sum_{i<j} 2 pT_i pT_j (cosh dy - cos dphi).
    m2 = sum(2 * 300.0**2 * (np.cosh(y[i] - y[j]) - np.cos(phi[i] - phi[j])) for i, j in ((0, 1), (0, 2), (1, 2)))
    assert got_contrib[col("mass_mmdt")] == pytest.approx(np.sqrt(m2), rel=1e-9)


def test_mmdt_removes_a_soft_wide_angle_particle():
    """Two hard prongs (a W-like pair) and a 2% pT particle far away: C/A clusters the soft one last,
    z = 0.02 < 0.1 so mMDT drops it; the groomed mass is the pair mass and the ungroomed
    multiplicity still counts it. Two particles: e2(b) = z1 z2 R^b and e3 = 0."""
    pair = p4([600.0, 400.0], [0.0, 0.1], [0.0, 0.05])
    soft = p4([20.0], [0.6], [0.4])
    jet = np.concatenate([pair, soft])
    assert list(ref.mmdt_groom(jet)) == [0, 1]
    got = contrib(jet)[0]
    assert got[col("mass_mmdt")] == pytest.approx(ref.mass(pair), rel=1e-9)
    assert got[col("multiplicity")] == 3
    r = np.hypot(0.1, 0.05)
    for b in (0, 1, 2):
        assert got[col(f"c1_b{b}_mmdt")] == pytest.approx(0.6 * 0.4 * r**b, rel=1e-9)
    assert got[col("c2_b1_mmdt")] == 0.0 and got[col("d2_b2_mmdt")] == 0.0
    z = np.array([600, 400, 20]) / 1020
    assert got[col("zlogz")] == pytest.approx(np.sum(z * np.log(z)), rel=1e-12)


def test_single_constituent_after_grooming_is_not_finite():
    """A jet of one particle has e2 = 0, so C2, D2, M2, N2 are undefined (the generator drops such jets)."""
    got = contrib(p4([900.0], [0.2], [0.3]))[0]
    assert got[col("c1_b1_mmdt")] == 0.0
    assert not np.isfinite(got[col("d2_b1_mmdt")])


def test_contrib_agrees_with_numpy_reference_on_random_jets():
    rng = np.random.default_rng(3)
    jets = []
    for n in (4, 9, 17, 30):
        pt = rng.exponential(40.0, n) + 1.0
        jets.append(p4(pt, rng.normal(0.5, 0.25, n), rng.normal(-3.0, 0.25, n), m=0.14))
    got = contrib(*jets)
    for k, jet in enumerate(jets):
        np.testing.assert_allclose(got[k], ref.jet_features(jet), rtol=1e-9, atol=1e-12)


def test_phi_wraps_around_pi():
    """Two particles either side of phi = pi are 0.2 apart, not 2 pi - 0.2."""
    jet = p4([500.0, 500.0], [0.0, 0.0], [np.pi - 0.1, -np.pi + 0.1])
    got = contrib(jet)[0]
    assert got[col("c1_b1_mmdt")] == pytest.approx(0.25 * 0.2, rel=1e-9)
    assert ref.jet_features(jet)[col("c1_b1_mmdt")] == pytest.approx(0.25 * 0.2, rel=1e-9)
