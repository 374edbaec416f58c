"""``flow analyze stats``: what the weights and activations span, and the fixed-point integer bits that
would hold them.

* Weights: mean, variance, min and max of every parameter of the float model.
* Hardware parameters: the folded values the hardware holds (a BatchNorm after a Linear folds into its
  weights and bias; others become a per-feature scale and shift), their largest magnitude, the integer
  bits that hold it, and the type ``frac = "auto"`` would give at the configured width.
* Activations: min, max, range, mean and standard deviation of the graph input and every layer's output
  over N batches of training inputs, with the same suggestion. A Linear's output that a BatchNorm
  folds into never exists in hardware; it is listed but gets no suggestion.

Integer bits count the sign (hls4ml's ``I`` in ``ap_fixed<W, I>``): a signed value of largest magnitude
``m`` needs ``ceil(log2(m)) + 1``, an unsigned one ``ceil(log2(m))``; the suggested type is exactly what
:meth:`flow.config.quant.TypeSpec.resolve` (used by ``assign_types``) picks for that range.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from flow.config.quant import TypeSpec, graph_input_spec, layer_quant
from flow.config.zoo import ModelSpec
from flow.ir.fixed import FixedType
from flow.quantize.assign_types import RULES
from flow.quantize.fold_batchnorm import PARAM_ROLES, fold_batchnorm
from flow.studies.graph import folded_into, short


def integer_bits(max_abs: float, signed: bool) -> int:
    """Integer bits (with the sign bit when signed) that hold magnitudes up to ``max_abs``."""
    t = TypeSpec(width=40, frac=None, signed=signed).resolve(max_abs)
    return t.integer


def suggest(spec: TypeSpec, max_abs: float, signed_default: bool = True) -> FixedType:
    """The type ``frac = auto`` gives at ``spec``'s width for values up to ``max_abs``."""
    return TypeSpec(spec.width, None, spec.signed, spec.rounding, spec.overflow).resolve(
        max_abs, signed_default=signed_default
    )


@dataclass(frozen=True)
class WeightStat:
    layer: str
    param: str
    shape: tuple[int, ...]
    mean: float
    var: float
    min: float
    max: float
    int_bits: int


@dataclass(frozen=True)
class HardwareParam:
    layer: str
    role: str  # weight, bias (a Linear, BatchNorm folded in) or scale, shift
    max_abs: float
    int_bits: int
    suggested: str  # the type at the configured width


@dataclass(frozen=True)
class ActStat:
    value: str  # "input" or the layer whose output it is
    kind: str
    min: float
    max: float
    range: float
    mean: float
    std: float
    int_bits: int
    suggested: str  # "" when the value does not exist in hardware


def weight_stats(model: nn.Module) -> list[WeightStat]:
    out = []
    for name, p in model.named_parameters():
        layer, _, param = name.rpartition(".")
        v = p.detach().double()
        out.append(
            WeightStat(
                layer,
                param,
                tuple(v.shape),
                float(v.mean()),
                float(v.var(unbiased=False)),
                float(v.min()),
                float(v.max()),
                integer_bits(float(v.abs().max()), True),
            )
        )
    return out


def hardware_params(spec: ModelSpec, model: nn.Sequential) -> list[HardwareParam]:
    out = []
    for layer in fold_batchnorm(model.eval()):
        q = layer_quant(spec.quant, layer.name, RULES[layer].kind)
        for role in PARAM_ROLES[layer]:
            v, ts = getattr(layer, role), getattr(q, role)
            m = float(v.abs().max())
            out.append(HardwareParam(layer.name, role, m, integer_bits(m, True), short(suggest(ts, m).describe())))
    return out


@torch.no_grad()
def activation_stats(
    spec: ModelSpec, model: nn.Sequential, x: torch.Tensor, batches: int = 10, batch_size: int = 256, seed: int = 0
) -> list[ActStat]:
    """Statistics over ``batches`` random batches of standardized inputs ``x`` (eval mode)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    n = min(len(x), batches * batch_size)
    sample = x[torch.randperm(len(x), generator=gen)[:n]].float()
    values = {"input": sample}
    h = sample
    for name, module in model.named_children():
        h = module(h)
        values[name] = h
    folded = folded_into(spec)
    absorbing = set(folded.values())
    kinds = {layer.name: layer.kind for layer in spec.layers}
    out = []
    for name, v in values.items():
        v = v.double()
        lo, hi = float(v.min()), float(v.max())
        m = max(abs(lo), abs(hi))
        kind = kinds.get(name, "input")
        if name in absorbing:
            suggested = f"- (not in hardware: {', '.join(b for b, lin in folded.items() if lin == name)} folds in)"
        else:
            ts = graph_input_spec(spec.quant) if name == "input" else layer_quant(spec.quant, name, kind).output
            suggested = short(suggest(ts, m, signed_default=kind != "relu").describe())
        out.append(
            ActStat(name, kind, lo, hi, hi - lo, float(v.mean()), float(v.std()), integer_bits(m, lo < 0), suggested)
        )
    return out


@dataclass(frozen=True, eq=False)
class Profile:
    weights: tuple[WeightStat, ...]
    hardware: tuple[HardwareParam, ...]
    activations: tuple[ActStat, ...]
    samples: int

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return {
            "weights": [asdict(w) for w in self.weights],
            "hardware": [asdict(h) for h in self.hardware],
            "activations": [asdict(a) for a in self.activations],
            "samples": self.samples,
        }


def profile(
    spec: ModelSpec, model: nn.Sequential, x: torch.Tensor, batches: int = 10, batch_size: int = 256
) -> Profile:
    """Weights, folded hardware parameters and activations of ``model`` (see the module docstring)."""
    acts = activation_stats(spec, model, x, batches, batch_size)
    return Profile(
        tuple(weight_stats(model)),
        tuple(hardware_params(spec, model)),
        tuple(acts),
        int(min(len(x), batches * batch_size)),
    )


def fresh_model(spec: ModelSpec, seed: int) -> nn.Sequential:
    """The untrained float model as ``flow train`` would start it."""
    from flow.train.model import build_float_model

    torch.manual_seed(seed)
    return build_float_model(spec).eval()
