"""JSC data: load the public jet datasets, generate JSC-like jets with Pythia 8 + FastJet, describe them.

Public API (other flow code depends on it):

- :data:`FEATURE_NAMES` (16 OpenML names, OpenML order) and :data:`CLASS_NAMES` ``("g","q","w","z","t")``;
- :class:`JetDataset` (float32 features [N, 16], int64 labels), :func:`load`, :func:`load_default`,
  :func:`fetch_openml`;
- :class:`Split` and :func:`split` (stratified, deterministic for a seed).

Generation lives in :mod:`flow.data.generate` (imported lazily: it needs pythia8mc and fastjet).
"""

from flow.data.dataset import JetDataset
from flow.data.loaders import load, load_default
from flow.data.openml import fetch_openml
from flow.data.schema import CLASS_NAMES, FEATURE_NAMES
from flow.data.splits import Split, split

__all__ = [
    "CLASS_NAMES",
    "FEATURE_NAMES",
    "JetDataset",
    "Split",
    "fetch_openml",
    "load",
    "load_default",
    "split",
]
