"""Run a cocotb test module on one RTL block with Icarus (fast builds for small unit testbenches).

Used by the block testbenches in ``sim/<block>/test_<block>.py``: each renders its template,
then calls :func:`run_block` with HDL parameters and a JSON configuration for the cocotb side.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from flow.errors import MismatchError
from flow.tools import require_icarus


def run_block(
    files: dict[str, str],
    toplevel: str,
    test_module: str,
    test_dir: str | Path,
    work_dir: str | Path,
    *,
    parameters: dict[str, int] | None = None,
    config: dict | None = None,
    testcase: str | None = None,
) -> dict:
    """Build ``files`` with Icarus and run ``test_module`` (importable from ``test_dir``) on ``toplevel``.

    The cocotb side reads ``config`` from ``$FLOW_TB_CONFIG`` and may write a JSON report to
    ``$FLOW_TB_REPORT``; it is returned. Raises :class:`MismatchError` if a cocotb test failed.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    require_icarus()
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    srcs = []
    for rel, text in sorted(files.items()):
        if rel.endswith(".v"):
            p = work / rel
            p.write_text(text)
            srcs.append(p)
    test_dir = str(Path(test_dir).resolve())
    if test_dir not in sys.path:
        sys.path.insert(0, test_dir)
    cfg_path = work / "tb_config.json"
    cfg_path.write_text(json.dumps(config or {}))
    report = work / "tb_report.json"
    report.unlink(missing_ok=True)
    runner = get_runner("icarus")
    runner.build(
        sources=srcs,
        hdl_toplevel=toplevel,
        parameters=parameters or {},
        build_dir=work / "build",
        timescale=("1ns", "1ps"),
        always=True,
        log_file=work / "build.log",
    )
    xml = work / "results.xml"
    # The runner exits when a cocotb test failed; the results file says which.
    with contextlib.suppress(SystemExit):
        runner.test(
            test_module=test_module,
            hdl_toplevel=toplevel,
            hdl_toplevel_lang="verilog",
            testcase=testcase,
            build_dir=work / "build",
            test_dir=work,
            parameters=parameters or {},
            extra_env={
                "FLOW_TB_CONFIG": str(cfg_path),
                "FLOW_TB_REPORT": str(report),
                "PYTHONPATH": os.pathsep.join([test_dir, *sys.path]),
            },
            results_xml=str(xml),
            log_file=work / "sim.log",
        )
    n_tests, n_failed = get_results(xml) if xml.is_file() else (0, 0)
    result = json.loads(report.read_text()) if report.is_file() else {}
    if n_tests == 0 or n_failed:
        log = work / "sim.log"
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.is_file() else ""
        raise MismatchError(
            f"{toplevel}: {n_failed} of {n_tests} cocotb tests failed "
            f"({result.get('first', '')}); log {work / 'sim.log'}:\n{tail}"
        )
    return result
