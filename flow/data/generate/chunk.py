"""Generate one chunk: a fixed number of jets of one class from its own seeded Pythia instance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from flow.data.generate.clustering import find_jets
from flow.data.generate.detector import Particles, detector_response
from flow.data.generate.features import jet_features
from flow.data.generate.pythia import chunk_seeds, make_pythia
from flow.data.generate.settings import GeneratorSettings
from flow.data.generate.truth import EventRecord, match_jets, truth_objects
from flow.errors import DataError

#: Events per Pythia batch: enough to amortise the per-batch overhead, small enough to stop near N.
MAX_BATCH_EVENTS = 200
MIN_BATCH_EVENTS = 10
#: Prior guess of labelled jets per event for the first batch (measured: 1.6-1.8).
EXPECTED_JETS_PER_EVENT = 1.5


@dataclass(frozen=True)
class ChunkTask:
    """Chunk ``index`` of class ``cls`` with ``n_jets`` jets."""

    cls: str
    index: int
    n_jets: int

    @property
    def name(self) -> str:
        return f"{self.cls}-{self.index:05d}-{self.n_jets}"


@dataclass
class ChunkStats:
    """Counts of what happened to events and jets in a chunk."""

    events: int = 0
    jets_in_window: int = 0
    unmatched: int = 0
    not_contained: int = 0
    nonfinite: int = 0
    surplus: int = 0

    def add(self, other: ChunkStats) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))


@dataclass
class ChunkResult:
    """Features [n, 16] (float64), jet pT and eta of a chunk, with its statistics."""

    task: ChunkTask
    features: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    stats: ChunkStats = field(default_factory=ChunkStats)


class _ChargeTable:
    """PDG id -> charged?, from Pythia's particle data, cached per id."""

    def __init__(self, pythia):
        self._pd = pythia.particleData
        self._cache: dict[int, bool] = {}

    def __call__(self, pid: np.ndarray) -> np.ndarray:
        ids, inverse = np.unique(pid, return_inverse=True)
        for i in ids.tolist():
            if i not in self._cache:
                self._cache[i] = self._pd.chargeType(i) != 0
        return np.array([self._cache[i] for i in ids.tolist()], dtype=bool)[inverse]


def event_record(batch: ak.Array) -> EventRecord:
    """Flatten a ``Pythia.nextBatch`` result into numpy arrays."""
    prt = batch.prt
    counts = ak.to_numpy(ak.num(prt, axis=1)).astype(np.int64)
    flat = ak.flatten(prt, axis=1)
    p = flat.p

    def col(x) -> np.ndarray:
        return np.asarray(ak.to_numpy(x))

    return EventRecord(
        event=np.repeat(np.arange(len(counts)), counts),
        pid=col(flat.id).astype(np.int64),
        status=col(flat.status).astype(np.int64),
        daughter1=col(flat.daughter1).astype(np.int64),
        daughter2=col(flat.daughter2).astype(np.int64),
        px=col(p.px),
        py=col(p.py),
        pz=col(p.pz),
        e=col(p.e),
        offsets=np.concatenate([[0], np.cumsum(counts)]),
    )


def process_batch(
    rec: EventRecord,
    cls: str,
    settings: GeneratorSettings,
    rng: np.random.Generator,
    charged,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, ChunkStats]:
    """Detector, jets, truth matching and features of one batch: (features, pt, eta, stats).

    Only the first ``limit`` labelled jets (in event, then pT order) get features; the rest are
    counted as surplus and discarded, which saves the grooming of jets that would be thrown away.
    """
    stats = ChunkStats(events=len(rec.offsets) - 1)
    final = rec.status > 0
    particles = Particles(rec.event[final], rec.px[final], rec.py[final], rec.pz[final], rec.e[final])
    pid = rec.pid[final]
    objects = detector_response(particles, pid, charged(pid), settings.detector, rng)
    jets = find_jets(objects, stats.events, settings.jets)
    stats.jets_in_window = len(jets)
    truth = truth_objects(rec, cls)
    js = settings.jets
    matched = match_jets(jets.event, jets.y, jets.phi, truth, js.match_dr, containment=False)
    labelled = match_jets(jets.event, jets.y, jets.phi, truth, js.match_dr, containment=js.containment)
    stats.unmatched = int((~matched).sum())
    stats.not_contained = int((matched & ~labelled).sum())
    jets = jets.take(labelled)
    if limit is not None and len(jets) > limit:
        stats.surplus = len(jets) - limit
        jets = jets.take(np.arange(limit))
    feats = jet_features(jets.constituents, js)
    finite = np.isfinite(feats).all(axis=1)
    stats.nonfinite = int((~finite).sum())
    return feats[finite], jets.pt[finite], jets.eta[finite], stats


def generate_chunk(
    task: ChunkTask, settings: GeneratorSettings, on_batch: Callable[[int], None] | None = None
) -> ChunkResult:
    """Exactly ``task.n_jets`` jets of ``task.cls``, a function of (settings, task) only.

    Events come in batches whose sizes depend only on what the chunk has produced so far, so the
    sequence of events and random numbers is the same on every run; surplus jets of the last batch
    are discarded. ``on_batch(jets so far)`` is called after each batch.
    """
    pythia_seed, detector_seed = chunk_seeds(settings.seed, task.cls, task.index)
    pythia = make_pythia(task.cls, settings, pythia_seed)
    rng = np.random.default_rng(detector_seed)
    charged = _ChargeTable(pythia)
    stats = ChunkStats()
    feats, pts, etas = [], [], []
    have = 0
    while have < task.n_jets:
        missing = task.n_jets - have
        jets_per_event = max(0.2, have / stats.events) if stats.events else EXPECTED_JETS_PER_EVENT
        n_events = int(np.ceil(1.1 * missing / jets_per_event)) + 2
        n_events = min(MAX_BATCH_EVENTS, max(MIN_BATCH_EVENTS, n_events))
        batch = pythia.nextBatch(n_events)
        f, pt, eta, s = process_batch(event_record(batch), task.cls, settings, rng, charged, limit=missing)
        stats.add(s)
        feats.append(f)
        pts.append(pt)
        etas.append(eta)
        have += len(pt)
        if on_batch is not None:
            on_batch(have)
        if have == 0 and stats.events >= 2000:
            raise DataError(
                f"no {task.cls} jets passed the selection in {stats.events} events; "
                "check the pT window, |eta| cut and the Pythia pThat minimum"
            )
    return ChunkResult(task, np.concatenate(feats), np.concatenate(pts), np.concatenate(etas), stats)
