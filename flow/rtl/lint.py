"""``verilator --lint-only -Wall`` on generated RTL."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from flow.errors import ToolError
from flow.tools import find_verilator


def lint_files(
    files: dict[str, str], top: str, *, parameters: dict[str, int] | None = None, sources: list[str] | None = None
) -> list[str]:
    """Lint ``{relative_path: text}`` with ``top`` as top module; return the warning lines (empty: clean).

    ``sources`` picks and orders the Verilog files (default: every ``*.v``); ``parameters`` are
    ``-G`` overrides of the top module's parameters. Raises :class:`ToolError` if Verilator is
    missing or fails for another reason than lint findings.
    """
    tool = find_verilator()
    names = sources if sources is not None else sorted(p for p in files if p.endswith(".v"))
    with tempfile.TemporaryDirectory(prefix="flow_lint_") as tmp:
        for rel in names:
            path = Path(tmp) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[rel])
        cmd = [str(tool.exe), "--lint-only", "-Wall", "--top-module", top]
        cmd += [f"-G{k}={v}" for k, v in (parameters or {}).items()]
        cmd += [str(Path(tmp) / rel) for rel in names]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=tool.env(), timeout=600)
        except subprocess.TimeoutExpired as exc:
            raise ToolError("verilator --lint-only timed out after 600 s") from exc
        out = (proc.stdout + proc.stderr).replace(tmp + "/", "")
    lines = [ln for ln in out.splitlines() if ln.startswith("%")]
    if proc.returncode != 0 and not any(ln.startswith(("%Warning", "%Error")) for ln in lines):
        raise ToolError(f"verilator --lint-only failed (exit {proc.returncode}):\n{out.strip()[:2000]}")
    return lines
