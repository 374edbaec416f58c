"""Small fixtures for the study tests: a learnable synthetic dataset (in memory and as a CSV file that
flow.data reads), a short-training model spec, a trained checkpoint, and the study commands on a
local typer app."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from flow.cli.studies import register
from flow.config.zoo import get_model
from flow.data import CLASS_NAMES, FEATURE_NAMES
from flow.studies.data import synthetic_data
from flow.studies.run import train_run
from flow.studies.settings import with_train


@pytest.fixture(scope="session")
def data():
    return synthetic_data(900, seed=3)


@pytest.fixture(scope="session")
def csv_path(tmp_path_factory, data):
    """The same kind of jets as a CSV with the public column names and class letters."""
    d = synthetic_data(1000, seed=5)
    x = np.concatenate([d.train.x, d.val.x, d.test.x])
    y = np.concatenate([d.train.y, d.val.y, d.test.y])
    df = pd.DataFrame(x, columns=list(FEATURE_NAMES))
    df["class"] = [CLASS_NAMES[i] for i in y]
    path = tmp_path_factory.mktemp("data") / "jets.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def small():
    """jsc-small (BatchNorms folded into Linears) trained briefly."""
    return with_train(get_model("jsc-small"), epochs=2, batch_size=64, lr=1e-2, qat_epochs=1)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, small, data):
    """A `flow train` run folder of ``small`` on ``data``."""
    out = tmp_path_factory.mktemp("run")
    return out, train_run(small, data, out)


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory, csv_path):
    """A `flow train` run folder made through the CLI on ``csv_path``."""
    out = tmp_path_factory.mktemp("cli") / "run"
    res = invoke(
        [
            "train",
            "jsc-small",
            "--data",
            str(csv_path),
            "--epochs",
            "2",
            "--batch-size",
            "64",
            "--lr",
            "0.01",
            "--out",
            str(out),
        ]
    )
    assert res.exit_code == 0, res.output
    return out, res


@pytest.fixture
def cli():
    """``cli(args) -> click Result`` of the study commands."""
    return invoke


def make_app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(app)
    return app


def invoke(args: list[str]):
    return CliRunner().invoke(make_app(), args, env={"COLUMNS": "250"})
