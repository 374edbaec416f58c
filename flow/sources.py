"""What code and data a module depends on, computed from the source: the basis of stage hashes.

:func:`closure` follows every import of a module inside the ``flow`` package (top-level and
function-level ``import``/``from ... import``, relative imports, and string constants that name a
``flow`` module, such as the cocotb test module a simulation loads by name), transitively.
:func:`package_data` adds the non-Python files each of those modules may read: every file in the
module's package folder and in its sub-folders that are not packages themselves (templates, model
TOML files, the default dataset). :func:`source_digest` hashes all of it, so a stage's input hash
changes whenever anything it can execute or read changes, and only then.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent  # .../flow
_SKIP_DIRS = {"__pycache__"}


def module_path(name: str) -> Path | None:
    """The source file of module ``flow.x.y`` (``x/y.py`` or ``x/y/__init__.py``), or None."""
    parts = name.split(".")
    if parts[0] != "flow":
        return None
    base = PACKAGE_ROOT.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    rel = Path(path).resolve().relative_to(PACKAGE_ROOT.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _resolve(name: str) -> str | None:
    """``name`` if it is a flow module, else its longest prefix that is (``flow.x.func`` -> ``flow.x``)."""
    parts = name.split(".")
    while parts and parts[0] == "flow":
        candidate = ".".join(parts)
        if module_path(candidate) is not None:
            return candidate
        parts = parts[:-1]
    return None


@cache
def direct_imports(name: str) -> frozenset[str]:
    """The flow modules that module ``name`` imports anywhere in its source (see the module docstring)."""
    path = module_path(name)
    if path is None:
        return frozenset()
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("flow."):
            targets = [node.value]
        for target in targets:
            resolved = _resolve(target)
            if resolved and resolved != name:
                found.add(resolved)
    # Importing a.b.c runs a/__init__ and a/b/__init__ first.
    for mod in list(found):
        parts = mod.split(".")
        found.update(".".join(parts[:k]) for k in range(2, len(parts)) if module_path(".".join(parts[:k])))
    found.discard(name)
    return frozenset(found)


def closure(name: str) -> tuple[str, ...]:
    """``name`` and every flow module it can import, transitively (sorted)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        mod = todo.pop()
        if mod in seen or module_path(mod) is None:
            continue
        seen.add(mod)
        todo.extend(direct_imports(mod))
    return tuple(sorted(seen))


def _data_files(folder: Path) -> list[Path]:
    out = [p for p in folder.iterdir() if p.is_file() and p.suffix not in (".py", ".pyc")]
    for sub in folder.iterdir():
        if sub.is_dir() and sub.name not in _SKIP_DIRS and not (sub / "__init__.py").exists():
            out += [p for p in sub.rglob("*") if p.is_file() and not _SKIP_DIRS & set(p.parts)]
    return out


def files_of(modules: tuple[str, ...]) -> tuple[Path, ...]:
    """Source files of ``modules`` plus the data files of their package folders (sorted, unique).

    A package's ``__init__`` brings no data files of its own: the folder's data files belong to the
    modules that sit in it (``flow/rtl/templates/`` to ``flow.rtl.generate``), so a module that only
    imports a sibling package (``flow.rtl.shiftadd``) does not depend on them.
    """
    files: set[Path] = set()
    for mod in modules:
        path = module_path(mod)
        if path is None:
            continue
        files.add(path)
        if path.name != "__init__.py":
            files.update(_data_files(path.parent))
    return tuple(sorted(files))


def source_digest(module: str) -> str:
    """SHA-256 over the relative names and contents of every file :func:`files_of` the closure of ``module``."""
    h = hashlib.sha256()
    for path in files_of(closure(module)):
        h.update(str(path.relative_to(PACKAGE_ROOT)).encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()
