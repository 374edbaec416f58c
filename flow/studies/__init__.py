"""Training studies: what a network does before anyone builds hardware for it.

* :mod:`~flow.studies.run` -- ``flow train``: one run folder (metrics per epoch, best/last checkpoints,
  curves, confusion matrix, ROC, embedding of the last hidden layer: :mod:`~flow.studies.embed`).
* :mod:`~flow.studies.sweep` -- ``flow sweep``: grids of batch size, learning rate, epochs, architecture
  (:mod:`~flow.studies.arch`: BatchNorm, width, depth) and bit widths, repeated over seeds, in parallel,
  resumable; a table, a plot per swept variable, overlaid learning curves, per-run folders and
  ``index.html`` (:mod:`~flow.studies.report`).
* :mod:`~flow.studies.graph` and :mod:`~flow.studies.stats` -- ``flow analyze graph|stats``.
* :mod:`~flow.studies.quant` -- ``flow quantize``: apply a config, compare graphs, check the grid.
* :mod:`~flow.studies.baseline` -- ``flow baseline``: gradient-boosted trees on the same split.

The command line is :mod:`flow.cli.studies`.
"""

from flow.studies.baseline import BaselineResult, BaselineSettings, baseline_metrics, run_baseline
from flow.studies.data import StudyData, load_study_data, synthetic_data
from flow.studies.run import FloatRun, RunResult, train_float, train_run
from flow.studies.sweep import SweepGrid, SweepPoint, SweepResult, SweepSettings, run_sweep

__all__ = [
    "BaselineResult",
    "BaselineSettings",
    "FloatRun",
    "RunResult",
    "StudyData",
    "SweepGrid",
    "SweepPoint",
    "SweepResult",
    "SweepSettings",
    "baseline_metrics",
    "load_study_data",
    "run_baseline",
    "run_sweep",
    "synthetic_data",
    "train_float",
    "train_run",
]
