"""Settings of ``[quantization] mode = "learned"`` (the ``[quantization.learned]`` table).

::

    [quantization]
    mode = "learned"
    [quantization.learned]
    beta = 5e-6            # weight of the resource term (EBOPs) in the loss
    epochs = 400           # bit-width training epochs (beta warm-up and ramp included)
    warmup_epochs = 10     # beta = 0
    ramp_epochs = 50       # beta rises geometrically from beta/1000 to beta
    finetune_epochs = 30   # bits frozen, weights fine-tuned without the resource term
    batch_size = 1024
    lr = 3e-3              # Adam, cosine-decayed over the epochs
    finetune_lr = 5e-4
    init_weight_bits = 8   # starting width of each layer's largest weight
    init_act_bits = 12     # starting width of the input and every ReLU output
    lut_budget = 0         # > 0: keep the best validation epoch whose LUT estimate is within it
    select = "best"        # "best" (validation accuracy, after the ramp, within the budget) or "last"
    seed = 42
    input_granularity = "feature"  # "feature": learned bits per input feature; "layer": one input type
    activation_granularity = "layer"  # "layer": one type per ReLU; "neuron": fractional bits per ReLU neuron

The keys and their types are checked when the file is read (:data:`flow.config.quant.LEARNED_KEYS`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from flow.config.quant import LEARNED_KEYS, QuantConfig
from flow.errors import ConfigError


@dataclass(frozen=True)
class LearnedSettings:
    beta: float = 5e-6
    epochs: int = 400  # 400 gave smaller designs than 200 at every beta measured (docs/explore.md)
    warmup_epochs: int = 10
    ramp_epochs: int = 50
    finetune_epochs: int = 30
    batch_size: int = 1024
    lr: float = 3e-3
    finetune_lr: float = 5e-4
    init_weight_bits: int = 8
    init_act_bits: int = 12
    lut_budget: float = 0.0
    select: str = "best"
    seed: int = 42
    input_granularity: str = "feature"
    activation_granularity: str = "layer"

    def __post_init__(self) -> None:
        if self.beta < 0:
            raise ConfigError(f"[quantization.learned] beta must be >= 0, got {self.beta}")
        for k in ("epochs", "batch_size", "init_weight_bits", "init_act_bits"):
            if getattr(self, k) < 1:
                raise ConfigError(f"[quantization.learned] {k} must be at least 1, got {getattr(self, k)}")
        for k in ("warmup_epochs", "ramp_epochs", "finetune_epochs"):
            if getattr(self, k) < 0:
                raise ConfigError(f"[quantization.learned] {k} must be >= 0, got {getattr(self, k)}")
        if self.select not in ("best", "last"):
            raise ConfigError(f'[quantization.learned] select must be "best" or "last", got {self.select!r}')
        if self.input_granularity not in ("feature", "layer"):
            raise ConfigError(
                '[quantization.learned] input_granularity must be "feature" (bits per input feature) or "layer" '
                f"(one input type), got {self.input_granularity!r}"
            )
        if self.activation_granularity not in ("neuron", "layer"):
            raise ConfigError(
                '[quantization.learned] activation_granularity must be "neuron" (fractional bits per ReLU neuron) '
                f'or "layer" (one type per ReLU), got {self.activation_granularity!r}'
            )

    @classmethod
    def from_config(cls, config: QuantConfig) -> LearnedSettings:
        raw = dict(config.learned)
        known = {f.name for f in fields(cls)}
        assert known == set(LEARNED_KEYS), "LEARNED_KEYS and LearnedSettings must list the same keys"
        cast = {f.name: f.type for f in fields(cls)}
        return replace(cls(), **{k: float(v) if cast[k] == "float" else v for k, v in raw.items()})

    def beta_at(self, epoch: int) -> float:
        """beta of a (1-based) epoch: 0 during warm-up, then a geometric ramp to ``beta``."""
        if epoch <= self.warmup_epochs or self.beta == 0:
            return 0.0
        k = epoch - self.warmup_epochs
        if self.ramp_epochs == 0 or k >= self.ramp_epochs:
            return self.beta
        return self.beta * 1e-3 ** (1 - k / self.ramp_epochs)

    @property
    def full_beta_epoch(self) -> int:
        """The first epoch at full beta (checkpoints are selected from here on)."""
        return min(self.epochs, self.warmup_epochs + max(self.ramp_epochs, 1))
