"""Points of an exploration, the Pareto front, and its files: ``pareto.json``, ``pareto.md``, ``pareto.png``."""

from __future__ import annotations

import json
from pathlib import Path

PARETO_JSON = "pareto.json"
PARETO_MD = "pareto.md"
PARETO_PNG = "pareto.png"


def dominates(a: dict, b: dict) -> bool:
    """``a`` is at least as accurate with at most as many LUTs, and strictly better in one."""
    return (
        a["accuracy"] >= b["accuracy"]
        and a["lut"] <= b["lut"]
        and (a["accuracy"] > b["accuracy"] or a["lut"] < b["lut"])
    )


def mark_front(points: list[dict]) -> list[dict]:
    """Set ``on_front`` on every point: verified, with a LUT count, and dominated by no verified point."""
    ok = [p for p in points if p.get("verified") and p.get("lut") is not None and p.get("accuracy") is not None]
    for p in points:
        p["on_front"] = p in ok and not any(dominates(q, p) for q in ok if q is not p)
    return points


def write_front(folder: Path, meta: dict, points: list[dict], references: list[dict]) -> None:
    folder = Path(folder)
    points = mark_front(sorted(points, key=lambda p: (p.get("lut") is None, p.get("lut") or 0)))
    doc = {**meta, "points": points, "references": references}
    tmp = folder / (PARETO_JSON + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(folder / PARETO_JSON)
    (folder / PARETO_MD).write_text(markdown(meta, points, references))
    try:
        plot(folder / PARETO_PNG, points, references)
    except Exception as e:  # noqa: BLE001 - a missing plot must not lose the results
        (folder / PARETO_PNG).unlink(missing_ok=True)
        meta.setdefault("warnings", []).append(f"plot failed: {e}")


def _fmt(v, spec: str = ",") -> str:
    return "-" if v is None else format(v, spec)


def markdown(meta: dict, points: list[dict], references: list[dict]) -> str:
    lines = [
        f"# flow explore {meta['model']} --target {meta['target']}",
        "",
        f"{len(points)} points, {sum(p['verified'] for p in points)} verified, "
        f"{sum(p['on_front'] for p in points)} on the front. Accuracy: integer reference on the test set; "
        "LUT/FF/DSP: Yosys; LUT est.: the shift-add cost model (else EBOPs); latency: RTL simulation.",
        "",
        "| point | beta | accuracy | LUT | LUT est. | FF | DSP | cycles | non-zero w. | verified | front | build |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|:-:|:-:|---|",
    ]
    for p in points:
        acc = "-" if p.get("accuracy") is None else f"{100 * p['accuracy']:.2f}%"
        est = p.get("shiftadd_lut_estimate") or p.get("lut_estimate")
        beta = "-" if p.get("beta") is None else f"{p['beta']:g}"
        lines.append(
            f"| {p['name']} | {beta} | {acc} | {_fmt(p.get('lut'))} | "
            f"{_fmt(est, ',.0f')} | {_fmt(p.get('ff'))} | {_fmt(p.get('dsp'))} | "
            f"{_fmt(p.get('latency_cycles'))} | {_fmt(p.get('nonzero_weights'))} | "
            f"{'yes' if p['verified'] else 'NO'} | {'*' if p['on_front'] else ''} | `{p.get('build', '')}` |"
        )
    if references:
        lines += ["", "Reference points:", "", "| reference | accuracy | LUT |", "|---|--:|--:|"]
        lines += [f"| {r['name']} | {100 * r['accuracy']:.2f}% | {r['lut']:,} |" for r in references]
    return "\n".join(lines) + "\n"


def plot(path: Path, points: list[dict], references: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [p for p in points if p.get("lut") and p.get("accuracy") is not None]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    if pts:
        sc = ax.scatter(
            [p["lut"] for p in pts],
            [100 * p["accuracy"] for p in pts],
            c=[p.get("latency_cycles") or 0 for p in pts],
            cmap="viridis",
            marker="o",
            edgecolors=["k" if p["on_front"] else "none" for p in pts],
            label="learned bit widths",
        )
        fig.colorbar(sc, ax=ax, label="latency (cycles)")
        front = sorted((p for p in pts if p["on_front"]), key=lambda p: p["lut"])
        ax.step([p["lut"] for p in front], [100 * p["accuracy"] for p in front], where="post", color="k", lw=0.8)
    for r in references:
        ax.scatter([r["lut"]], [100 * r["accuracy"]], marker="x", color="r")
        ax.annotate(r["name"], (r["lut"], 100 * r["accuracy"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("LUT (Yosys)")
    ax.set_ylabel("test accuracy, integer reference (%)")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def parse_reference(text: str) -> dict:
    """``NAME:ACCURACY:LUT`` (accuracy as a fraction or a percentage)."""
    from flow.errors import ConfigError

    try:
        name, acc, lut = text.rsplit(":", 2)
        a = float(acc.rstrip("%"))
        return {"name": name, "accuracy": round(a / 100, 6) if a > 1 else a, "lut": int(float(lut))}
    except ValueError:
        raise ConfigError(f"--reference must be NAME:ACCURACY:LUT (e.g. hgq2-5e-6:66.76:4433), got {text!r}") from None
