"""Every back-end table covers every layer kind; an unsupported kind is a typed error naming both."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import flow
from flow.ir.graph import LAYER_CLASSES, ArgMax, Dense, ReLU, ScaleShift
from flow.quantize.fold_batchnorm import FOLDED_CLASSES
from flow.registry import TABLES, KindTable, Unsupported, UnsupportedLayerError


def _import_everything() -> None:
    for mod in pkgutil.walk_packages(flow.__path__, "flow."):
        if mod.name != "flow.__main__" and not mod.name.startswith("flow.data.generate"):
            importlib.import_module(mod.name)


_import_everything()
BACKENDS = {t.backend: t for t in TABLES}


def test_the_ir_union_is_the_table_universe():
    assert set(LAYER_CLASSES) == {Dense, ReLU, ScaleShift, ArgMax}
    assert len({cls.kind for cls in LAYER_CLASSES}) == len(LAYER_CLASSES)


@pytest.mark.parametrize(
    "backend",
    [
        "integer reference",
        "QAT",
        "QAT types",
        "type assignment",
        "parameter roles",
        "QONNX export",
        "hls4ml",
        "hls4ml precision",
        "hls4ml read-back check",
        "RTL",
        "block testbench",
    ],
)
def test_every_back_end_has_a_table(backend):
    assert backend in BACKENDS, f"no table for {backend}; tables: {sorted(BACKENDS)}"


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.backend)
def test_table_covers_every_kind(table: KindTable):
    assert table.universe in (LAYER_CLASSES, FOLDED_CLASSES)
    assert table.missing() == (), f"{table.backend} has no entry for {table.missing()}"


def test_unsupported_kind_is_a_typed_error_naming_back_end_and_kind():
    table = BACKENDS["hls4ml"]
    assert isinstance(table.entries[ArgMax], Unsupported)
    with pytest.raises(UnsupportedLayerError, match=r"the hls4ml back end does not support layer kind 'argmax'"):
        table[ArgMax]


def test_unknown_class_is_refused_not_treated_as_another_kind():
    class Softmax:
        kind = "softmax"

    for table in TABLES:
        with pytest.raises(UnsupportedLayerError, match="softmax"):
            table[Softmax]
