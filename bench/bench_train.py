"""Training speed of jsc-medium: flow's fit() against MASE's lab figure and a plain PyTorch loop.

    python bench/bench_train.py [--data FILE] [--epochs 3] [--threads 1,2] [--batch 256,512]

* MASE: its lab reports train jsc-medium-like networks at about 24,000 samples/s
  (3084 steps of 256 jets in 33 s = 23,925 samples/s), the reference figure of the issue.
* peer: a textbook PyTorch loop measured here in the same run -- ``DataLoader(TensorDataset, batch_size=256,
  shuffle=True)``, Adam, cross-entropy -- on the same model, data and threads.
* flow: :func:`flow.train.fit.fit` (what ``flow train``, ``flow sweep`` and ``flow build`` use).
  ``fit()`` uses fused Adam: the optimizer step is about a third of a step on these tiny tensors, and the
  fused kernel halves it.

Samples/s counts training samples per second of the training loop (the median over epochs after a warm-up
epoch); "with val" also charges the per-epoch validation pass. Data: the built-in dataset's training split
when it has at least 50,000 jets, else 70,000 synthetic jets (speed does not depend on the values).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flow.config.zoo import get_model  # noqa: E402
from flow.studies.data import StudyData, load_study_data, synthetic_data  # noqa: E402
from flow.train.fit import Arrays, fit  # noqa: E402
from flow.train.model import build_float_model  # noqa: E402

MASE_SAMPLES_PER_S = 3084 * 256 / 33  # 23,925


def bench_data(path: Path | None) -> tuple[StudyData, str]:
    if path is not None:
        d = load_study_data(path)
        return d, f"{path}: {len(d.train):,} training jets"
    try:
        d = load_study_data()
        if len(d.train) >= 50_000:
            return d, f"built-in data: {len(d.train):,} training jets"
        note = f"built-in data has only {len(d.train):,} training jets"
    except Exception as e:  # noqa: BLE001 - any failure: fall back to synthetic jets
        note = f"built-in data unavailable ({e})"
    d = synthetic_data(116_667, seed=0)  # 70,000 training jets, like the default data's split
    return d, f"{note}; using {len(d.train):,} synthetic training jets"


def flow_fit(spec, train: Arrays, val: Arrays, batch: int, epochs: int) -> tuple[float, float]:
    """(median train-loop samples/s after the first epoch, samples/s including validation)."""
    torch.manual_seed(0)
    model = build_float_model(spec)
    settings = replace(spec.train, batch_size=batch, epochs=epochs)
    t0 = time.perf_counter()
    history = fit(model, train, val, phase="float", epochs=epochs, lr=1e-3, settings=settings)
    wall = time.perf_counter() - t0
    rates = [r.samples_per_s for r in history[1:]] or [history[0].samples_per_s]
    return statistics.median(rates), len(train.y) * epochs / wall


def plain_loop(spec, train: Arrays, batch: int, epochs: int) -> float:
    """The textbook loop: DataLoader over a TensorDataset, Adam, cross-entropy (median samples/s)."""
    torch.manual_seed(0)
    model = build_float_model(spec)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(train.x, train.y), batch_size=batch, shuffle=True, drop_last=True
    )
    rates = []
    for _ in range(epochs):
        model.train()
        t0, n = time.perf_counter(), 0
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            n += len(y)
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates[1:] or rates)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="dataset file (default: built-in, else synthetic)")
    ap.add_argument("--model", default="jsc-medium")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per measurement (the first is warm-up)")
    ap.add_argument("--threads", default=f"1,{os.cpu_count() or 1}", help="torch thread counts to try")
    ap.add_argument("--batch", default="256,512", help="flow fit() batch sizes (the peer uses 256)")
    args = ap.parse_args(argv)

    spec = get_model(args.model)
    data, note = bench_data(args.data)
    mean, std = data.standardization()
    train, val, _ = data.arrays(mean, std)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # one-time torch._dynamo import, outside timings
    threads = sorted({int(t) for t in args.threads.split(",")})
    batches = [int(b) for b in args.batch.split(",")]
    print(
        f"# Training speed: {spec.name} ({spec.n_params:,} parameters), torch {torch.__version__}, "
        f"{os.cpu_count()} cores"
    )
    print(f"data: {note}; validation {len(val.y):,} jets; {args.epochs} epochs per measurement\n")
    print("| trainer | batch | threads | samples/s | with val | x MASE (24k) | x peer |")
    print("|---|---|---|---|---|---|---|")
    print(f"| MASE lab report | 256 | - | {MASE_SAMPLES_PER_S:,.0f} | - | 1.0 | - |")
    for t in threads:
        torch.set_num_threads(t)
        peer = plain_loop(spec, train, 256, args.epochs)
        print(
            f"| peer: DataLoader + Adam | 256 | {t} | {peer:,.0f} | - | {peer / MASE_SAMPLES_PER_S:.1f} | 1.0 |",
            flush=True,
        )
        for b in batches:
            loop, wall = flow_fit(spec, train, val, b, args.epochs)
            print(
                f"| flow fit() | {b} | {t} | {loop:,.0f} | {wall:,.0f} | {loop / MASE_SAMPLES_PER_S:.1f} | "
                f"{loop / peer:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
