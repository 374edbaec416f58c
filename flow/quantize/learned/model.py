"""The network with learned bit widths, and its conversion into flow's integer design.

Built from a folded chain ``(Linear, ReLU)* Linear [ArgMax]`` (:func:`flow.quantize.fold_batchnorm.fold_batchnorm`):

* the input features: one :class:`ActQuant` (signed, learned fractional bits, integer bits from the
  observed range), with one set of bits per feature by default (``input_granularity = "feature"``), so
  each feature enters the graph in its own type (:attr:`flow.ir.graph.QuantGraph.input_types`) inside one
  container type, or one set for all (``"layer"``);
* each Dense: a weight matrix with one learned fractional-bit parameter *per weight*
  (:class:`LearnedDense`); integer bits per layer from the largest weight; a weight whose width falls
  below 2 bits, or whose code rounds to 0, is pruned; the bias on the product's grid (at most 24 bits);
* each ReLU: one :class:`ActQuant` (unsigned, learned fractional bits per layer);
* the last Dense's scores: a fixed width (the configuration's dense output width, 16 by default) with the
  binary point from the observed range.

All quantizers round half up and saturate (RND/SAT), flow's defaults. :func:`export` turns the trained
model into the per-layer types and exact parameter values of the existing QAT model
(:class:`flow.quantize.qat.QuantModel`): a Dense layer has one weight type whose ``frac`` is the largest
learned ``f_i`` and each weight is a code with ``F - f_i`` trailing zeros; so the IR, the integer
reference and every back end are unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from flow.config.quant import TypeSpec
from flow.errors import ConfigError
from flow.ir.fixed import FixedType, bits_for_range
from flow.ir.graph import index_type
from flow.quantize.fold_batchnorm import FloatArgMax, FloatLinear, FloatReLU, FoldedLayer
from flow.quantize.learned.quantizer import grid_value, int_bits, learned_quantize, round_frac
from flow.quantize.qat import ArgMaxTypes, LayerTypes, LinearTypes, ReLUTypes

MAX_WIDTH = 24  # widest activation / bias kept (float32 holds every code exactly)
BIAS_MAX_WIDTH = 24
# Integer bits of an activation come from this quantile of |x| on the training set, not its maximum: a
# few outliers (standardized features reach 11.3, while 99.99% stay below 7.6) would otherwise cost every
# value of the layer one or two bits. Values above saturate (SAT), exactly as in every back end.
RANGE_QUANTILE = 0.9999


def range_of(x: torch.Tensor, quantile: float = RANGE_QUANTILE) -> float:
    """``quantile`` of ``|x|`` (the maximum for ``quantile >= 1``); 0 for an empty tensor."""
    a = x.detach().abs().flatten()
    if not a.numel():
        return 0.0
    if quantile >= 1:
        return float(a.max())
    k = min(a.numel(), max(1, int(round(quantile * a.numel()))))
    return float(torch.kthvalue(a.float(), k).values)


def column_ranges(x: torch.Tensor, quantile: float = RANGE_QUANTILE) -> torch.Tensor:
    """:func:`range_of` of each column of ``x`` ``[N, n]`` (float ``[n]``)."""
    a = x.detach().abs().float()
    if not len(a):
        return torch.zeros(a.shape[1])
    if quantile >= 1:
        return a.max(dim=0).values
    k = min(len(a), max(1, int(round(quantile * len(a)))))
    return torch.kthvalue(a, k, dim=0).values


def _fixed(width: int, frac: int, signed: bool) -> FixedType:
    return FixedType(int(width), int(frac), signed, "RND", "SAT")


class ActQuant(nn.Module):
    """An activation quantizer: learned ``f`` (or a fixed ``width`` with an automatic binary point), integer
    bits from ``amax``, the largest magnitude seen at the last calibration. One ``f`` and ``amax`` for the
    whole layer, or with ``n`` one per element of the last dimension (per input feature)."""

    def __init__(
        self,
        signed: bool,
        init_width: int,
        *,
        fixed_width: int | None = None,
        range_quantile: float | None = None,
        n: int | None = None,
        common_width: bool = False,
    ):
        super().__init__()
        if n is not None and fixed_width is not None:
            raise ValueError("a fixed-width quantizer has one type for the layer")
        self.n = n
        # per-element fractional bits, but every element saturates at the widest element's width: the
        # design then holds element o's code c_o = round(x_o * 2**f_o) in one type (see scaled_type)
        self.common_width = common_width and n is not None
        self.signed = signed
        # the scores (fixed width) keep their full range: their argmax must not saturate
        if range_quantile is None:
            range_quantile = 1.0 if fixed_width is not None else RANGE_QUANTILE
        self.range_quantile = range_quantile
        self.fixed_width = fixed_width
        self.init_width = init_width
        shape = () if n is None else (n,)
        self.f = nn.Parameter(torch.full(shape, float(init_width)), requires_grad=fixed_width is None)
        self.register_buffer("amax", torch.zeros(shape))
        self.register_buffer("calibrated", torch.tensor(False))
        self.register_buffer("frozen", torch.tensor(False))  # bits frozen: amax no longer recalibrated
        self.recording = False

    @property
    def sign_bit(self) -> int:
        return 1 if self.signed else 0

    def int_bits(self) -> torch.Tensor:
        return int_bits(self.amax).float()

    def frac(self) -> torch.Tensor:
        """The integer fractional bits in use (a float tensor holding an integer)."""
        i = self.int_bits()
        if self.fixed_width is not None:
            return self.fixed_width - self.sign_bit - i
        lo = (2 if self.signed else 1) - self.sign_bit - i
        hi = MAX_WIDTH - self.sign_bit - i
        return torch.clamp(round_frac(self.f), lo, hi)

    def width(self) -> torch.Tensor:
        return self.int_bits() + self.frac() + self.sign_bit

    def width_surrogate(self) -> torch.Tensor:
        """Differentiable width for the cost: integer bits + the real-valued ``f`` (+ sign)."""
        if self.fixed_width is not None:
            return self.width().detach()
        lo = (2 if self.signed else 1) - self.sign_bit - self.int_bits()
        return self.int_bits() + torch.maximum(self.f, lo) + self.sign_bit

    def clamp_width(self) -> torch.Tensor:
        """The width each element saturates at: its own, or with ``common_width`` the widest."""
        w = self.width()
        return w.max() if self.common_width else w

    def row_exponents(self) -> torch.Tensor:
        """``f_o - max f``: the power of two that scales element ``o`` into :meth:`scaled_type` (0 for a
        per-layer quantizer)."""
        fr = self.frac()
        return fr - fr.max()

    def scaled_type(self) -> FixedType:
        """The one type of the codes ``c_o`` of a ``common_width`` quantizer (frac the largest ``f_o``,
        width the widest): element ``o``'s value ``c_o * 2**-f_o`` is this type's value ``c_o * 2**-F``
        times ``2**(F - f_o)``, a factor the next Dense's weight column absorbs."""
        return _fixed(int(self.clamp_width()), int(self.frac().max()), self.signed)

    def fixed_type(self) -> FixedType:
        """The layer's type (for a per-element quantizer: the container of :meth:`element_types`; with
        ``common_width`` the :meth:`scaled_type`)."""
        if self.n is None:
            return _fixed(int(self.width()), int(self.frac()), self.signed)
        if self.common_width:
            return self.scaled_type()
        types = self.element_types()
        frac = max(t.frac for t in types)
        return _fixed(max(t.integer for t in types) + frac, frac, self.signed)

    def element_types(self) -> tuple[FixedType, ...]:
        """One type per element of a per-feature quantizer (``()`` for a per-layer or ``common_width`` one)."""
        if self.n is None or self.common_width:
            return ()
        return tuple(_fixed(int(w), int(f), self.signed) for w, f in zip(self.width(), self.frac(), strict=True))

    def container_frac(self) -> torch.Tensor:
        """Fractional bits of the values this quantizer writes, as the next layer reads them (the largest)."""
        return self.frac().max()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.recording and not bool(self.frozen):
            if self.n is None:
                self.amax.fill_(range_of(x, self.range_quantile))
            else:
                self.amax.copy_(column_ranges(x, self.range_quantile))
            if not bool(self.calibrated) and self.fixed_width is None:
                # first calibration: start at init_width total bits
                with torch.no_grad():
                    self.f.copy_(self.init_width - self.sign_bit - int_bits(self.amax).float())
            self.calibrated.fill_(True)
        return learned_quantize(x, self.f, self.clamp_width(), self.signed, frac=self.frac())

    def column_exponents(self) -> torch.Tensor:
        """For the Dense reading this quantizer's values: ``F - f_j`` per input, by which its weight column is
        scaled in the design (0 for per-layer and per-feature quantizers, whose values the design holds as
        they are)."""
        if not self.common_width:
            return torch.zeros(())
        fr = self.frac()
        return fr.max() - fr


class LearnedDense(nn.Module):
    """A Dense layer with one learned fractional-bit parameter per weight."""

    def __init__(self, layer: FloatLinear, init_bits: int, frac_range: tuple[int, int] = (-16, 20)):
        super().__init__()
        self.name = layer.name
        self.weight = nn.Parameter(layer.weight.float().clone())
        self.bias = nn.Parameter(layer.bias.float().clone())
        i_w = float(int_bits(self.weight.abs().max()))
        self.wf = nn.Parameter(torch.full_like(self.weight, init_bits - 1 - i_w))
        self.frac_range = frac_range
        # 0 where a weight is pruned for good (set when the bits are frozen); 1 elsewhere
        self.register_buffer("keep", torch.ones_like(self.weight))

    def w_int_bits(self) -> torch.Tensor:
        return int_bits(self.weight.abs().max()).to(self.weight.dtype)

    def w_frac(self) -> torch.Tensor:
        return torch.clamp(round_frac(self.wf), *self.frac_range)

    def w_width(self) -> torch.Tensor:
        """Per-weight signed width ``i_w + f_i + 1``; below 2 the weight is pruned."""
        return self.w_int_bits() + self.w_frac() + 1

    def quantized_weight(self) -> torch.Tensor:
        return learned_quantize(self.weight, self.wf, self.w_width(), True, frac=self.w_frac()) * self.keep

    def common_frac(self, wq: torch.Tensor | None = None) -> torch.Tensor:
        """``F``: the largest fractional bit count among the weights that are not pruned (0 if none)."""
        wq = self.quantized_weight().detach() if wq is None else wq.detach()
        alive = wq != 0
        fr = self.w_frac()
        return fr[alive].max() if bool(alive.any()) else torch.zeros((), dtype=fr.dtype)

    def design_weight_frac(self, wq: torch.Tensor, col: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
        """The weight type's frac in the design, where weight ``(o, j)`` is scaled by ``2**(col[j] + row[o])``:
        the largest ``f_oj - col[j] - row[o]`` among weights that are not pruned (0 if none)."""
        alive = wq.detach() != 0
        r = row.to(self.weight.dtype)
        fr = self.w_frac() - col.to(self.weight.dtype) - (r[:, None] if r.dim() else r)
        fr = fr.expand_as(wq)
        return fr[alive].max() if bool(alive.any()) else torch.zeros((), dtype=fr.dtype)

    def bias_frac(
        self, x_frac: torch.Tensor, wq: torch.Tensor, col: torch.Tensor | None = None, row: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Fractional bits of each bias, in the layer's own units: the design's product grid (its input frac
        plus :meth:`design_weight_frac`), at most ``BIAS_MAX_WIDTH`` bits wide in the design, moved back
        by the row's scale ``2**row[o]``. Without scaling: ``min(x_frac + F, BIAS_MAX_WIDTH - 1 - i_b)``."""
        col = torch.zeros(()) if col is None else col
        row = torch.zeros(()) if row is None else row
        p = x_frac + self.design_weight_frac(wq, col, row)
        scaled = self.bias.detach().abs() * torch.exp2(row.to(self.bias.dtype))
        ib = int_bits(scaled.max()).to(p.dtype)
        return torch.minimum(p, BIAS_MAX_WIDTH - 1 - ib) + row.to(p.dtype)

    def quantized_bias(
        self, x_frac: torch.Tensor, wq: torch.Tensor, col: torch.Tensor | None = None, row: torch.Tensor | None = None
    ) -> torch.Tensor:
        pb = self.bias_frac(x_frac, wq, col, row)
        # wide enough never to saturate (the width is then taken from the codes)
        y = grid_value(self.bias, pb, torch.tensor(float(BIAS_MAX_WIDTH + 2)), True)
        if torch.is_grad_enabled() and self.bias.requires_grad:
            return self.bias + (y - self.bias).detach()
        return y

    def forward(
        self, x: torch.Tensor, x_frac: torch.Tensor, col: torch.Tensor | None = None, row: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``x @ w.T + b`` in the layer's own units; ``x_frac``, ``col`` and ``row`` (the design's input frac
        and the column/row scale exponents) only set the bias grid."""
        wq = self.quantized_weight()
        bq = self.quantized_bias(x_frac, wq, col, row)
        return x @ wq.to(x.dtype).T + bq.to(x.dtype)

    def bits_surrogate(self) -> torch.Tensor:
        """Differentiable bits per weight: ``relu(log2|w| + f + 1)`` for weights whose code is not 0, 0
        for pruned ones (the code's bit length, continuous in ``w`` and ``f``)."""
        wq = self.quantized_weight().detach()
        b = torch.relu(torch.log2(self.weight.abs() + 1e-30) + self.wf + 1)
        return torch.where(wq != 0, b, torch.zeros_like(b))

    def codes(
        self, x_frac: int, col: torch.Tensor | None = None, row: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, FixedType, torch.Tensor, FixedType]:
        """Weight codes in the design's one weight type and bias codes, with their types. Weight ``(o, j)``
        is scaled by ``2**(col[j] + row[o])`` (per-neuron activation bits, see :class:`LearnedModel`), bias
        ``o`` by ``2**row[o]``; without scaling a weight with ``f_i`` fractional bits is a code with
        ``F - f_i`` trailing zeros."""
        with torch.no_grad():
            col = torch.zeros((), dtype=torch.float64) if col is None else col.double()
            row = torch.zeros((), dtype=torch.float64) if row is None else row.double()
            w = self.weight.double()
            fr = self.w_frac().double()
            wq = grid_value(w, fr, self.w_width().double(), True) * self.keep.double()
            F = self.design_weight_frac(wq, col, row)
            scale = torch.exp2((col + row[..., None]).expand_as(wq))
            w_codes = torch.round(wq * scale * torch.exp2(F)).to(torch.int64)
            if bool((col == 0).all()) and bool((row == 0).all()):
                wt = _fixed(max(2, int(self.w_int_bits()) + int(F) + 1), int(F), True)
            else:
                lo, hi = (int(w_codes.min()), int(w_codes.max())) if w_codes.numel() else (0, 0)
                wt = _fixed(bits_for_range(lo, hi, True), int(F), True)
            pb = self.bias_frac(torch.tensor(float(x_frac), dtype=torch.float64), wq, col, row)
            bq = grid_value(self.bias.double(), pb, torch.tensor(float(BIAS_MAX_WIDTH + 2)), True)
            # in the design: b * 2**row on the grid pb - row, one frac for every row
            b_frac = (pb - row).max() if pb.dim() else pb
            b_codes = torch.round(bq * torch.exp2(row) * torch.exp2(b_frac)).to(torch.int64)
            lo, hi = (int(b_codes.min()), int(b_codes.max())) if b_codes.numel() else (0, 0)
            bt = _fixed(bits_for_range(lo, hi, True), int(b_frac), True)
        return w_codes, wt, b_codes, bt


class LearnedModel(nn.Module):
    """Input quantizer, then Dense layers each followed by a learned ReLU quantizer, the last by a fixed
    score quantizer; an optional final ArgMax passes the scores through (as :class:`~flow.quantize.qat.QArgMax`)."""

    def __init__(
        self,
        folded: tuple[FoldedLayer, ...],
        *,
        init_weight_bits: int = 8,
        init_act_bits: int = 12,
        input_act_bits: int | None = None,
        score_spec: TypeSpec | None = None,
        per_feature_input: bool = True,
        per_neuron_acts: bool = False,
    ):
        super().__init__()
        self.folded = folded
        kinds = [type(layer) for layer in folded]
        has_argmax = bool(kinds) and kinds[-1] is FloatArgMax
        body = kinds[:-1] if has_argmax else kinds
        ok = len(body) % 2 == 1 and all(k is (FloatLinear if i % 2 == 0 else FloatReLU) for i, k in enumerate(body))
        if not ok:
            names = ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in folded)
            raise ConfigError(
                "quantization mode 'learned' supports a chain dense, relu, dense, relu, ..., dense (BatchNorm "
                f"folded into the dense before it) and an optional final argmax; this model folds to: {names}"
            )
        self.has_argmax = has_argmax
        self.argmax_name = folded[-1].name if has_argmax else None
        self.score_spec = score_spec or TypeSpec(16)
        n_features = folded[0].weight.shape[1]
        self.input_q = ActQuant(True, input_act_bits or init_act_bits, n=n_features if per_feature_input else None)
        dense = [layer for layer in folded if isinstance(layer, FloatLinear)]
        self.relu_names = [layer.name for layer in folded if isinstance(layer, FloatReLU)]
        self.dense = nn.ModuleList(LearnedDense(layer, init_weight_bits) for layer in dense)
        acts = [
            ActQuant(False, init_act_bits, n=layer.weight.shape[0] if per_neuron_acts else None, common_width=True)
            for layer in dense[:-1]
        ]
        acts.append(ActQuant(True, self.score_spec.width, fixed_width=self.score_spec.width))
        self.acts = nn.ModuleList(acts)

    # -- forward ------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_q(x)
        last = len(self.dense) - 1
        for i, (d, a, (frac, col, row)) in enumerate(zip(self.dense, self.acts, self.design_scales(), strict=True)):
            acc = d(x, frac, col, row)
            x = a(torch.relu(acc) if i < last else acc)
        return x

    def design_scales(self) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Per Dense layer: the design's input frac, and the column and row scale exponents of its weights.

        With per-neuron activation bits, neuron ``o`` of a ReLU keeps ``f_o`` fractional bits; the design holds
        its code ``c_o = round(x_o * 2**f_o)`` in one type of frac ``F = max f_o`` (:meth:`ActQuant.scaled_type`),
        which reads as ``x_o * 2**(f_o - F)``. So the Dense writing it has row ``o`` (weights and bias) scaled by
        ``2**(f_o - F)``, and the Dense reading it has column ``o`` scaled by ``2**(F - f_o)``: powers of two,
        exact, and free in shift-add arithmetic (a weight's significant bits do not change)."""
        out = []
        q_in = self.input_q
        for a in self.acts:
            frac = q_in.container_frac()
            col = q_in.column_exponents()
            row = a.row_exponents() if a.common_width else torch.zeros(())
            out.append((frac, col, row))
            q_in = a
        return out

    def in_quantizers(self) -> list[ActQuant]:
        """The quantizer of the values entering each Dense layer."""
        return [self.input_q, *self.acts[:-1]]

    @torch.no_grad()
    def calibrate(self, x: torch.Tensor) -> None:
        """Set every activation quantizer's integer bits from the values ``x`` produces (one pass)."""
        was = self.training
        self.eval()
        quants = [self.input_q, *self.acts]
        for q in quants:
            q.recording = True
        try:
            self(x)
        finally:
            for q in quants:
                q.recording = False
            self.train(was)

    def bit_parameters(self) -> list[nn.Parameter]:
        return [d.wf for d in self.dense] + [q.f for q in self.in_quantizers()]

    def value_parameters(self) -> list[nn.Parameter]:
        return [p for d in self.dense for p in (d.weight, d.bias)]

    @torch.no_grad()
    def freeze_bits(self) -> None:
        """Fix every bit width: fractional bits stop training, pruned weights stay 0, activation integer
        bits stop following the observed range (SAT covers the rest); the cost can then only fall."""
        for p in self.bit_parameters():
            p.requires_grad_(False)
        for d in self.dense:
            d.keep.copy_((d.quantized_weight() != 0).to(d.keep.dtype))
        for q in (self.input_q, *self.acts):
            q.frozen.fill_(True)

    @torch.no_grad()
    def clamp_bits(self) -> None:
        """Keep the real-valued bit parameters near their usable range (so they can move back)."""
        for d in self.dense:
            d.wf.clamp_(d.frac_range[0] - 1, d.frac_range[1] + 1)
        for q in self.in_quantizers():
            i = q.int_bits()
            q.f.copy_(torch.clamp(q.f, (2 if q.signed else 1) - q.sign_bit - i - 1, MAX_WIDTH - q.sign_bit - i))

    # -- cost ----------------------------------------------------------------------------------------
    def ebops_surrogate(self) -> torch.Tensor:
        """Differentiable EBOPs: ``sum over Dense layers and weights w[o, i] of bits(w[o, i]) * width(x_i)``
        (``width(x_i)`` the input feature's own width under a per-feature quantizer)."""
        total = torch.zeros(())
        for d, q in zip(self.dense, self.in_quantizers(), strict=True):
            total = total + (d.bits_surrogate() * q.width_surrogate()).sum()
        return total


def export(
    model: LearnedModel,
) -> tuple[FixedType, tuple[FixedType, ...], tuple[LayerTypes, ...], tuple[FoldedLayer, ...]]:
    """The input (container) type, the per-feature input types (``()`` for one type), each folded layer's
    types, and folded layers whose parameters are the exact grid values: ready for
    :class:`flow.quantize.qat.QuantModel` and :func:`flow.quantize.qat.to_graph`."""
    input_type = model.input_q.fixed_type()
    feature_types = model.input_q.element_types()
    types: list[LayerTypes] = []
    layers: list[FoldedLayer] = []
    relu_names = iter(model.relu_names)
    for d, a, (frac, col, row) in zip(model.dense, model.acts, model.design_scales(), strict=True):
        w_codes, wt, b_codes, bt = d.codes(int(frac), col, row)
        a_t = a.fixed_type()
        # the scores keep their type; a Dense before a ReLU writes the ReLU's grid, signed, one bit wider
        out_t = a_t if a.signed else _fixed(a_t.width + 1, a_t.frac, True)
        types.append(LinearTypes(wt, bt, out_t))
        layers.append(FloatLinear(d.name, w_codes.double() * 2.0**-wt.frac, b_codes.double() * 2.0**-bt.frac))
        if not a.signed:
            types.append(ReLUTypes(a_t))
            layers.append(FloatReLU(next(relu_names)))
    if model.has_argmax:
        types.append(ArgMaxTypes(index_type(model.dense[-1].weight.shape[0])))
        layers.append(FloatArgMax(model.argmax_name))
    return input_type, feature_types, tuple(types), tuple(layers)
