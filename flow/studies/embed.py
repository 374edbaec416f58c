"""2-D embeddings of the last hidden layer (the input of the output Linear), coloured by true class.

:func:`probe` runs a network once on standardized inputs and returns what enters its last Linear (the
learned representation) and what leaves it (the class scores), with hooks, so the same code serves the
float ``nn.Sequential`` and the QAT model of a quantized point. :func:`embed_2d` maps the hidden vectors
of a bounded sample (default 2,000 test jets, the same jets for a seed) to 2-D with scikit-learn's t-SNE
or, faster, PCA.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

EMBEDDINGS = ("tsne", "pca", "none")
DEFAULT_SAMPLES = 2000


def check_embedding(method: str, samples: int) -> str:
    from flow.errors import ConfigError

    m = method.lower().replace("-", "")
    if m not in EMBEDDINGS:
        raise ConfigError(f"--embedding: {method!r}; use {', '.join(EMBEDDINGS)}")
    if samples < 10:
        raise ConfigError(f"--embedding-samples must be at least 10, got {samples}")
    return m


def last_linear(model: nn.Module) -> nn.Module:
    """The output Linear of a float model or of a QAT model (:class:`flow.quantize.qat.QLinear`)."""
    from flow.quantize.qat import QLinear

    found = [m for m in model.modules() if isinstance(m, nn.Linear | QLinear)]
    if not found:
        raise ValueError("the network has no Linear layer")
    return found[-1]


@torch.no_grad()
def probe(model: nn.Module, x: torch.Tensor, layer: nn.Module | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(hidden, scores)``: the input and output of ``layer`` (default: the last Linear) on ``x``."""
    layer = layer or last_linear(model)
    seen: dict = {}
    pre = layer.register_forward_pre_hook(lambda m, args: seen.__setitem__("in", args[0].detach().clone()))
    post = layer.register_forward_hook(lambda m, args, out: seen.__setitem__("out", out.detach().clone()))
    try:
        model.eval()
        model(x)
    finally:
        pre.remove()
        post.remove()
    return seen["in"].double().numpy(), seen["out"].double().numpy()


def sample(n: int, k: int, seed: int = 0) -> np.ndarray:
    """At most ``k`` of ``n`` indices, sorted, the same for a seed."""
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


@dataclass(frozen=True)
class Embedding:
    coords: np.ndarray  # [N, 2]
    method: str
    axes: tuple[str, str]
    note: str


def embed_2d(features: np.ndarray, method: str = "tsne", seed: int = 0) -> Embedding:
    """2-D coordinates of ``features [N, D]`` by t-SNE (perplexity 30, PCA start) or PCA."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    f = np.asarray(features, dtype=np.float64)
    n, d = f.shape
    if d < 2:  # one hidden unit: nothing to project; spread it against a zero axis
        f = np.concatenate([f, np.zeros((n, 2 - d))], axis=1)
    if method == "pca":
        pca = PCA(n_components=2, random_state=seed).fit(f)
        r = pca.explained_variance_ratio_
        return Embedding(
            pca.transform(f), "PCA", (f"PC 1 ({r[0]:.0%} of variance)", f"PC 2 ({r[1]:.0%} of variance)"), ""
        )
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3.0)))
    coords = TSNE(2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed).fit_transform(f)
    return Embedding(coords, "t-SNE", ("t-SNE 1", "t-SNE 2"), f"perplexity {perplexity:g}")


def plot_hidden_embedding(
    hidden: np.ndarray,
    labels: np.ndarray,
    class_names,
    path: Path,
    method: str = "tsne",
    samples: int = DEFAULT_SAMPLES,
    title: str = "",
    seed: int = 0,
) -> Embedding:
    """Embed a sample of ``hidden`` and draw it coloured by ``labels`` into ``path``."""
    from flow.plots import plot_embedding

    idx = sample(len(labels), samples, seed)
    e = embed_2d(hidden[idx], method, seed)
    sub = f"{e.method} of the last hidden layer ({hidden.shape[1]} units), {len(idx):,} test jets"
    sub += f", {e.note}" if e.note else ""
    plot_embedding(e.coords, np.asarray(labels)[idx], class_names, path, e.axes, f"{title}\n{sub}" if title else sub)
    return e
