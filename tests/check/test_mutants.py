"""Mutation testing of the RTL check (flow.check.mutants): operators on a jsc-tiny build, equivalence
proofs, and a CI sample (mutants of every class) that the check must kill under random initialization."""

from __future__ import annotations

import os
import shutil

import pytest

from flow.check.mutants import CLASSES, _bit_constant, generate_mutants, kill_table, load_build, run_mutants
from flow.config.targets import get_target
from flow.config.zoo import get_model
from flow.pipeline import BuildOptions, build_root, run_build

VECTORS = 1500


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("mut")
    spec, target = get_model("jsc-tiny"), get_target("xcu250")
    run_build(spec, target, BuildOptions(vectors=VECTORS, until="rtl"), out)
    return build_root(out, spec, target)


def test_bit_constant_matches_brute_force():
    for w in (3, 5):
        for lo in range(-(1 << (w - 1)), 1 << (w - 1)):
            for hi in range(lo, 1 << (w - 1)):
                for b in range(w):
                    seen = {((v & ((1 << w) - 1)) >> b) & 1 for v in range(lo, hi + 1)}
                    want = next(iter(seen)) if len(seen) == 1 else None
                    assert _bit_constant(lo, hi, b, w) == want, (lo, hi, b, w)


def test_operators_cover_every_class_of_a_shiftadd_design(tiny):
    build = load_build(tiny)
    muts = generate_mutants(build, per_class=3, seed=1)
    classes = {m.cls for m in muts}
    # jsc-tiny has no ArgMax and no library flow_relu instance; every other class applies
    assert classes == set(CLASSES) - {"argmax-tie"}
    for m in muts:
        assert m.files and all(m.files[f] != build.files.get(f) for f in m.files if not m.equivalent), m.site
    # deterministic for a seed
    again = generate_mutants(build, per_class=3, seed=1)
    assert [(m.cls, m.site) for m in again] == [(m.cls, m.site) for m in muts]


def test_stuck_bit_equivalence_uses_the_exact_interval(tiny):
    build = load_build(tiny)
    muts = generate_mutants(build, per_class=400, classes=("bit-stuck",))
    eq = [m for m in muts if m.equivalent]
    assert eq, "a ReLU output never reaches its top bits: some stuck-at-0 bits are equivalent"
    assert all("exact interval" in m.equivalent for m in eq)
    assert len(eq) < len(muts)


@pytest.mark.slow
def test_ci_sample_every_class_killed(tiny, verilator, tmp_path):
    """One mutant per class (two for reset), with random register initialization: all killed."""
    results = run_mutants(tiny, per_class=1, seed=0, vectors=VECTORS, work_dir=tmp_path / "w")
    rows = {r["class"]: r for r in kill_table(results)}
    assert set(rows) == set(CLASSES) - {"argmax-tie"}
    for cls, r in rows.items():
        assert r["error"] == 0 and r["survived"] == 0 and r["killed"] >= 1, (cls, [x.to_dict() for x in results])
    assert "FLOW_SIM_RANDOM_INIT" not in os.environ
    shutil.rmtree(tmp_path / "w", ignore_errors=True)


@pytest.mark.slow
def test_unmutated_design_passes_with_random_init(tiny, verilator):
    from flow.check.mutants import Mutant, run_mutant
    from flow.check.verify import build_sets

    build = load_build(tiny)
    sets = build_sets(tiny / "04_reference", VECTORS)
    r = run_mutant(build, Mutant("none", "unmutated", {}), sets, tiny.parent / "none", random_init=7)
    assert r.status == "survived", r.detail  # the check passes on the correct design
