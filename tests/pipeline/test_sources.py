"""flow.sources: the import closure and package data that a stage's code hash covers."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import flow.sources as sources
from flow.sources import closure, direct_imports, files_of, source_digest


@pytest.fixture
def fake_pkg(tmp_path, monkeypatch):
    """A tiny ``flow`` package in tmp_path, seen by flow.sources instead of the real one."""
    root = tmp_path / "flow"
    files = {
        "__init__.py": "",
        "a/__init__.py": "",
        "a/top.py": """
            from flow.a import helper
            from . import sibling

            def run():
                import flow.b.late  # function-level import
                return helper, sibling

            TEST_MODULE = "flow.c.by_name"  # a module named by a string, loaded by a tool
            """,
        "a/helper.py": "from flow.d import deep_function\n",
        "a/sibling.py": "",
        "a/templates/block.v.j2": "module block; endmodule\n",
        "b/__init__.py": "",
        "b/late.py": "",
        "c/__init__.py": "",
        "c/by_name.py": "",
        "d.py": "def deep_function(): ...\n",
        "e/__init__.py": "",
        "e/unrelated.py": "import os\n",
        "e/data/table.csv": "x\n",
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    monkeypatch.setattr(sources, "PACKAGE_ROOT", root)
    direct_imports.cache_clear()
    yield root
    direct_imports.cache_clear()


def test_closure_follows_every_kind_of_import(fake_pkg):
    assert direct_imports("flow.a.top") == {
        "flow.a",
        "flow.a.helper",
        "flow.a.sibling",
        "flow.b",
        "flow.b.late",
        "flow.c",
        "flow.c.by_name",
    }
    assert closure("flow.a.top") == (
        "flow.a",
        "flow.a.helper",
        "flow.a.sibling",
        "flow.a.top",
        "flow.b",
        "flow.b.late",
        "flow.c",
        "flow.c.by_name",
        "flow.d",  # `from flow.d import deep_function`: the module of a name, transitively
    )
    assert "flow.e.unrelated" not in closure("flow.a.top")


def test_package_data_is_in_the_files(fake_pkg):
    files = {p.relative_to(fake_pkg).as_posix() for p in files_of(closure("flow.a.top"))}
    assert "a/templates/block.v.j2" in files  # a non-package folder of a module's package
    assert "e/data/table.csv" not in files and "e/unrelated.py" not in files


def test_digest_changes_only_with_what_the_module_can_read(fake_pkg):
    before = source_digest("flow.a.top")
    (fake_pkg / "e" / "unrelated.py").write_text("import sys\n")
    (fake_pkg / "e" / "data" / "table.csv").write_text("y\n")
    assert source_digest("flow.a.top") == before
    for rel in ("a/templates/block.v.j2", "b/late.py", "c/by_name.py", "d.py"):
        p = fake_pkg / rel
        p.write_text(p.read_text() + "\n// edited\n" if rel.endswith(".j2") else p.read_text() + "\n# edited\n")
        now = source_digest("flow.a.top")
        assert now != before, rel
        before = now


def test_real_stage_closures():
    """The stage modules reach what they run by name or read as files."""
    sim = closure("flow.stages.sim")
    assert "flow.sim.cocotb_bench" in sim  # loaded by cocotb from a string
    assert "flow.rtl.generate" in sim
    rtl_files = {p.relative_to(sources.PACKAGE_ROOT).as_posix() for p in files_of(sim)}
    assert "rtl/templates/harness.v.j2" in rtl_files
    assert not any(m.startswith("flow.cli") for m in closure("flow.stages.report"))
    for stage in ("data", "train", "quantize", "reference", "onnx", "hls4ml", "rtl", "sim", "synth", "report"):
        mods = closure(f"flow.stages.{stage}")
        assert "flow.data.describe" not in mods and "flow.pipeline" not in mods, stage
        assert all(Path(sources.module_path(m)).is_file() for m in mods)
