"""Back-end tables: one implementation per IR layer kind, found by the layer's class.

Every back end (integer reference, QAT, QONNX export, hls4ml mapping and read-back check, RTL,
block testbench, studies views) keeps one :class:`KindTable` whose keys are the classes of the IR's
layer union (:data:`flow.ir.graph.LAYER_CLASSES`) or of the float-side union
(:data:`flow.quantize.fold_batchnorm.FOLDED_CLASSES`). A back end that cannot implement a kind says
so with an :class:`Unsupported` entry, so every table covers every kind (``tests/test_registry.py``
asserts it) and a lookup never falls through to another kind's code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from flow.errors import FlowError

T = TypeVar("T")

TABLES: list[KindTable] = []  # every table ever built, for the coverage test


class UnsupportedLayerError(FlowError):
    """A back end was asked for a layer kind it does not implement."""

    def __init__(self, backend: str, kind: str, reason: str = ""):
        self.backend, self.kind, self.reason = backend, kind, reason
        detail = f": {reason}" if reason else ""
        super().__init__(f"the {backend} back end does not support layer kind {kind!r}{detail}")


@dataclass(frozen=True)
class Unsupported:
    """Table entry of a kind a back end cannot implement, with the reason a user can act on."""

    reason: str


def kind_of(cls: type) -> str:
    """The vocabulary name of a layer class: its ``kind`` attribute (``Dense.kind == "dense"``)."""
    return str(getattr(cls, "kind", cls.__name__.lower()))


class KindTable(Generic[T]):
    """``{layer class: implementation}`` for one back end over one layer union."""

    def __init__(self, backend: str, universe: Iterable[type], entries: Mapping[type, T | Unsupported]):
        self.backend = backend
        self.universe = tuple(universe)
        self.entries = dict(entries)
        TABLES.append(self)

    def missing(self) -> tuple[str, ...]:
        """Kinds of the universe with no entry (the coverage test wants none)."""
        return tuple(kind_of(c) for c in self.universe if c not in self.entries)

    def supports(self, cls_or_layer: type | object) -> bool:
        cls = cls_or_layer if isinstance(cls_or_layer, type) else type(cls_or_layer)
        return cls in self.entries and not isinstance(self.entries[cls], Unsupported)

    def __getitem__(self, cls_or_layer: type | object) -> T:
        """The implementation for a class or an instance; :class:`UnsupportedLayerError` otherwise."""
        cls = cls_or_layer if isinstance(cls_or_layer, type) else type(cls_or_layer)
        entry = self.entries.get(cls)
        if entry is None:
            raise UnsupportedLayerError(self.backend, kind_of(cls), "no implementation registered")
        if isinstance(entry, Unsupported):
            raise UnsupportedLayerError(self.backend, kind_of(cls), entry.reason)
        return entry
