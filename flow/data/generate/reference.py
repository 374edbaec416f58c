"""Independent plain-numpy implementation of the JSC features, for tests and cross-checks.

Slow (O(n^3) per jet, a Python C/A loop for grooming) but written from the formulas only:
z_i = pT_i / sum pT, R_ij = sqrt(dy^2 + dphi^2),

    e2(b) = sum_{i<j} z_i z_j R_ij^b
    e3(b) = sum_{i<j<k} z_i z_j z_k (R_ij R_ik R_jk)^b
    1e3(b) = sum_{i<j<k} z_i z_j z_k min(R_ij^b, R_ik^b, R_jk^b)
    2e3(b) = sum_{i<j<k} z_i z_j z_k (product of the two smallest of R_ij^b, R_ik^b, R_jk^b)
    C1_b = e2(b), C2_b = e3(b)/e2(b)^2, D2_b = e3(b)/e2(b)^3, D2(1, b) = e3(1)/e2(b)^(3/b),
    M2_b = 1e3(b)/e2(b), N2_b = 2e3(b)/e2(b)^2.
"""

from __future__ import annotations

import itertools

import numpy as np

from flow.data.schema import FEATURE_NAMES


def kinematics(px, py, pz, e) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pT, rapidity, phi) of four-vectors."""
    px, py, pz, e = (np.asarray(a, dtype=np.float64) for a in (px, py, pz, e))
    return np.hypot(px, py), 0.5 * np.log((e + pz) / (e - pz)), np.arctan2(py, px)


def pair_distances(y: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Matrix of R_ij in (rapidity, phi) with phi wrapped."""
    dphi = np.abs(phi[:, None] - phi[None, :])
    dphi = np.where(dphi > np.pi, 2 * np.pi - dphi, dphi)
    return np.sqrt((y[:, None] - y[None, :]) ** 2 + dphi**2)


def correlators(pt, y, phi) -> dict[str, float]:
    """e2(b) for b = 0, 1, 2 and e3, 1e3, 2e3 for b = 1, 2 by explicit sums over pairs and triplets."""
    pt, y, phi = (np.asarray(a, dtype=np.float64) for a in (pt, y, phi))
    z = pt / pt.sum()
    r = pair_distances(y, phi)
    n = len(z)
    out: dict[str, float] = {}
    pairs = list(itertools.combinations(range(n), 2))
    for b in (0, 1, 2):
        out[f"e2_b{b}"] = float(sum(z[i] * z[j] * r[i, j] ** b for i, j in pairs))
    triplets = np.array(list(itertools.combinations(range(n), 3)), dtype=np.int64).reshape(-1, 3)
    i, j, k = triplets.T
    zzz = z[i] * z[j] * z[k]
    for b in (1, 2):
        angles = np.sort(np.stack([r[i, j] ** b, r[i, k] ** b, r[j, k] ** b]), axis=0)
        out[f"e3_b{b}"] = float(np.sum(zzz * angles[0] * angles[1] * angles[2]))
        out[f"1e3_b{b}"] = float(np.sum(zzz * angles[0]))
        out[f"2e3_b{b}"] = float(np.sum(zzz * angles[0] * angles[1]))
    return out


def groomed_ratios(pt, y, phi) -> dict[str, float]:
    """The 13 groomed ratio features (without mass) from the constituents of a groomed jet."""
    c = correlators(pt, y, phi)
    out = {f"c1_b{b}_mmdt": c[f"e2_b{b}"] for b in (0, 1, 2)}
    with np.errstate(divide="ignore", invalid="ignore"):
        for b in (1, 2):
            e2 = np.float64(c[f"e2_b{b}"])
            out[f"c2_b{b}_mmdt"] = float(c[f"e3_b{b}"] / e2**2)
            out[f"d2_b{b}_mmdt"] = float(c[f"e3_b{b}"] / e2**3)
            out[f"d2_a1_b{b}_mmdt"] = float(c["e3_b1"] / e2 ** (3.0 / b))
            out[f"m2_b{b}_mmdt"] = float(c[f"1e3_b{b}"] / e2)
            out[f"n2_b{b}_mmdt"] = float(c[f"2e3_b{b}"] / e2**2)
    return out


def mmdt_groom(p4: np.ndarray, zcut: float = 0.1) -> np.ndarray:
    """Indices of the constituents kept by mMDT (SoftDrop beta = 0) on a Cambridge/Aachen tree.

    ``p4`` is [n, 4] (px, py, pz, E). C/A merges the closest pair in (rapidity, phi) with E-scheme
    recombination until one jet is left; grooming then undoes the last merge while
    min(pT1, pT2) / (pT1 + pT2) < zcut, following the higher-pT branch.
    """
    p4 = np.asarray(p4, dtype=np.float64)
    nodes = [(p4[i].copy(), [i], None) for i in range(len(p4))]
    alive = list(range(len(nodes)))
    while len(alive) > 1:
        pt, y, phi = kinematics(*np.array([nodes[a][0] for a in alive]).T)
        r = pair_distances(y, phi) + np.diag(np.full(len(alive), np.inf))
        i, j = np.unravel_index(np.argmin(r), r.shape)
        a, b = alive[i], alive[j]
        nodes.append((nodes[a][0] + nodes[b][0], nodes[a][1] + nodes[b][1], (a, b)))
        alive = [x for x in alive if x not in (a, b)] + [len(nodes) - 1]
    node = alive[0]
    while nodes[node][2] is not None:
        a, b = nodes[node][2]
        pta, ptb = np.hypot(*nodes[a][0][:2]), np.hypot(*nodes[b][0][:2])
        if min(pta, ptb) / (pta + ptb) >= zcut:
            break
        node = a if pta >= ptb else b
    return np.sort(np.array(nodes[node][1]))


def mass(p4: np.ndarray) -> float:
    """Invariant mass of the sum of four-vectors [n, 4]."""
    s = np.asarray(p4, dtype=np.float64).sum(axis=0)
    return float(np.sqrt(max(s[3] ** 2 - s[0] ** 2 - s[1] ** 2 - s[2] ** 2, 0.0)))


def jet_features(p4: np.ndarray, zcut: float = 0.1) -> np.ndarray:
    """All 16 features of one jet given its constituents [n, 4], in FEATURE_NAMES order."""
    p4 = np.asarray(p4, dtype=np.float64)
    pt, y, phi = kinematics(*p4.T)
    z = pt / pt.sum()
    values = {"zlogz": float(np.sum(z * np.log(z))), "multiplicity": float(len(p4))}
    keep = mmdt_groom(p4, zcut)
    values["mass_mmdt"] = mass(p4[keep])
    values.update(groomed_ratios(pt[keep], y[keep], phi[keep]))
    return np.array([values[n] for n in FEATURE_NAMES])
