"""Build a Verilator model for cocotb quickly and reuse it.

cocotb's own ``Verilator.build`` always passes ``--public-flat-rw``, which makes every signal of the
design visible over VPI; for a fully unrolled MLP that multiplies the C++ size (and the compile time)
by about ten. Here Verilator is invoked directly with the same cocotb glue (``verilator.cpp``,
``--vpi``, ``libcocotbvpi_verilator``, prefix ``Vtop``) but with only the signals named in a
Verilator control file made public (the harness top), and a cheap C++ optimization level. The
result is an ordinary cocotb build directory: ``cocotb_tools.runner.Verilator().test(build_dir=...)``
runs tests on it.

Builds are cached by a hash of every input (sources, flags, tool versions): the same RTL is built
once per machine (``$FLOW_SIM_CACHE``, default ``~/.cache/flow/verilator``).

Verilator's runtime library (``verilated.cpp``, its VPI, timing and thread support) does not depend
on the design but takes about 18 CPU-seconds to compile, as long as the C++ of jsc-medium itself.
It is compiled once per machine and set of flags into its own cache (``$FLOW_SIM_RUNTIME_CACHE``,
default ``~/.cache/flow/verilator-runtime``) and copied into every new build.
:func:`prepare_runtime` (``flow doctor --prepare``, run by ``scripts/setup.sh``) compiles it ahead
of the first build; without it, the first build compiles it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from flow import cpu
from flow.errors import ToolError
from flow.tools import cxx, find_verilator, require_build_tools

BUILD_VERSION = "1"  # bump to invalidate cached builds when the recipe changes


@dataclass(frozen=True)
class VerilatorBuild:
    """A built cocotb + Verilator model."""

    build_dir: Path
    toplevel: str
    seconds: float  # time spent building now (0 when reused from the cache)
    cached: bool


def cache_root() -> Path:
    env = os.environ.get("FLOW_SIM_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "flow" / "verilator"


def runtime_cache_root() -> Path:
    env = os.environ.get("FLOW_SIM_RUNTIME_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "flow" / "verilator-runtime"


def _cocotb_paths() -> tuple[Path, Path, str]:
    try:
        import cocotb
        import cocotb_tools.config as cfg
    except ImportError as exc:
        raise ToolError("cocotb is not installed; pip install cocotb==2.1.0") from exc
    main_cpp = Path(cfg.share_dir) / "lib" / "verilator" / "verilator.cpp"
    return main_cpp, Path(cfg.libs_dir), cocotb.__version__


def build_verilator(
    files: dict[str, str],
    sources: list[str],
    toplevel: str,
    *,
    public: list[str] | None = None,
    opt: str | None = None,
    timing: bool = True,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    log=None,
    random_init: bool = False,
) -> VerilatorBuild:
    """Build (or reuse) a cocotb-ready Verilator model of ``sources`` (keys of ``files``).

    ``public`` lists the modules whose signals cocotb may read and write (default: the toplevel
    only). ``opt`` is the C++ optimization level of the model code: ``-O1`` compiles several times
    faster than Verilator's default ``-Os`` on large unrolled designs and simulates about as fast.
    ``random_init``: ``--x-initial unique`` instead of ``fast``, so that every register without an
    initializer can start at a random value at run time (plusargs of :func:`random_init_plusargs`).
    """
    tool = find_verilator()
    require_build_tools()
    opt = opt or os.environ.get("FLOW_SIM_OPT", "-O1")
    main_cpp, libs_dir, cocotb_version = _cocotb_paths()
    public = public if public is not None else [toplevel]
    vlt = "`verilator_config\n" + "".join(f'public_flat_rw -module "{m}" -var "*"\n' for m in public)
    flags = [
        "--x-assign",
        "fast",
        "--x-initial",
        "unique" if random_init else "fast",
        "-Wno-fatal",
        "-Wno-lint",
        "-Wno-style",
        "--output-split",
        "20000",
        "--output-split-cfuncs",
        "2000",
    ] + (["--timing"] if timing else [])
    h = hashlib.sha256()
    for part in [BUILD_VERSION, tool.version, str(tool.exe), cocotb_version, toplevel, opt, vlt, *flags]:
        h.update(part.encode() + b"\0")
    for rel in sources:
        h.update(rel.encode() + b"\0" + files[rel].encode() + b"\0")
    key = h.hexdigest()[:20]
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    final = root / f"{toplevel}-{key}"
    if (final / toplevel).is_file() and (final / "flow_build.ok").is_file():
        return VerilatorBuild(final, toplevel, 0.0, True)

    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=f".{toplevel}-", dir=root))
    try:
        src_dir = work / "src"
        src_dir.mkdir()
        paths = []
        for rel in sources:
            p = src_dir / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(files[rel])
            paths.append(str(p))
        (src_dir / "public.vlt").write_text(vlt)
        env = tool.env()
        cmd = [
            str(tool.exe),
            "-cc",
            "--exe",
            "-Mdir",
            str(work),
            "--top-module",
            toplevel,
            "--vpi",
            "--prefix",
            "Vtop",
            "-o",
            toplevel,
            "-LDFLAGS",
            f"-Wl,-rpath,{libs_dir} -L{libs_dir} -lcocotbvpi_verilator",
            *flags,
            str(src_dir / "public.vlt"),
            str(main_cpp),
            *paths,
        ]
        _run(cmd, env, work / "verilator.log", "verilator")
        compiler = cxx()
        # The wheel's verilated.mk records its build machine's compiler and leaves the C++20,
        # coroutine and precompiled-header flags empty: set them here.
        make_vars = [
            f"OPT_FAST={opt}",
            "OPT_SLOW=-O0",
            f"OPT_GLOBAL={opt}",
            f"CXX={compiler}",
            f"LINK={compiler}",
            "AR=ar",
            "CFG_CXXFLAGS_STD=-std=c++20",
            "CFG_CXXFLAGS_COROUTINES=-fcoroutines",
            "CFG_CXXFLAGS_PCH_I=-include",
            "CFG_CXXFLAGS_NO_UNUSED=-Wno-unused -Wno-unused-parameter",
        ]
        runtime = runtime_cache_root() / (
            "runtime-"
            + hashlib.sha256(
                "\0".join([BUILD_VERSION, tool.version, str(tool.exe), compiler, *flags, *make_vars]).encode()
            ).hexdigest()[:16]
        )
        runtime.parent.mkdir(parents=True, exist_ok=True)
        _reuse_runtime(runtime, work)
        # make -j: the caller's core plus the cores free right now (flow.cpu: a background synthesis
        # may be using the others)
        with cpu.extra((jobs or cpu.cores()) - 1) as more:
            make = ["make", "-j", str(1 + more), "-C", str(work), "-f", "Vtop.mk", "VM_TRACE=0", *make_vars]
            _run(make, env, work / "make.log", "make (C++ build of the Verilator model)")
        _save_runtime(runtime, work)
        for junk in [*work.glob("*.gch"), *work.glob("*.o"), *work.glob("*.a")]:
            junk.unlink()
        (work / "flow_build.ok").write_text(key + "\n")
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        try:
            work.rename(final)
        except OSError:  # another process won the race: use its build
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return VerilatorBuild(final, toplevel, time.perf_counter() - t0, False)


PREPARE_TOP = "flow_prepare"
PREPARE_SOURCE = f"""`default_nettype none
// A self-clocking empty design (as the harnesses are): building it compiles and caches Verilator's
// runtime library, timing support included.
module {PREPARE_TOP};
    reg clk = 1'b0;  // toggles every time unit
    always #1 clk = ~clk;
endmodule
"""


def prepare_runtime(cache_dir: Path | None = None) -> list[VerilatorBuild]:
    """Compile Verilator's runtime library for the flags the simulations use (ordinary and
    ``random_init`` builds) by building an empty design; a no-op when already cached."""
    files = {f"{PREPARE_TOP}.v": PREPARE_SOURCE}
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(cache_dir) if cache_dir is not None else Path(tmp)
        return [build_verilator(files, list(files), PREPARE_TOP, cache_dir=where, random_init=r) for r in (False, True)]


def random_init_plusargs(seed: int) -> list[str]:
    """Run-time plusargs of a ``random_init`` build: every register starts at a random value drawn
    from ``seed`` (Verilator's ``+verilator+rand+reset+2``)."""
    return ["+verilator+rand+reset+2", f"+verilator+seed+{int(seed) + 1}"]


# Verilator's runtime library objects: the same for every model built with the same flags, and
# most of the C++ build time of a small model. They are compiled once and copied into new builds
# after Verilator has run (so they are newer than Vtop.mk, on which make makes them depend).
_RUNTIME_OBJS = ("verilated", "verilated_dpi", "verilated_vpi", "verilated_timing", "verilated_threads")


def _reuse_runtime(runtime: Path, work: Path) -> None:
    if not (runtime / "ok").is_file():
        return
    for stem in _RUNTIME_OBJS:
        for ext in (".o", ".d"):
            src = runtime / (stem + ext)
            if src.is_file():
                shutil.copyfile(src, work / src.name)


def _save_runtime(runtime: Path, work: Path) -> None:
    if (runtime / "ok").is_file() or not all((work / f"{s}.o").is_file() for s in _RUNTIME_OBJS):
        return  # already saved, or a design that does not use all of it (then it is not saved)
    tmp = Path(tempfile.mkdtemp(prefix=".runtime-", dir=runtime.parent))
    for stem in _RUNTIME_OBJS:
        for ext in (".o", ".d"):
            if (work / (stem + ext)).is_file():
                shutil.copy2(work / (stem + ext), tmp / (stem + ext))
    (tmp / "ok").write_text("ok\n")
    try:
        tmp.rename(runtime)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(cmd: list[str], env: dict[str, str], log: Path, what: str) -> None:
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise ToolError(f"{what} failed (exit {proc.returncode}); last lines of {log.name}:\n{tail}")
