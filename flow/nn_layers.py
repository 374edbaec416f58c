"""PyTorch modules of the float network that ``torch.nn`` does not have (layer kinds of our own)."""

from __future__ import annotations

import torch
from torch import nn


class ArgMaxHead(nn.Module):
    """The trigger decision at the end of a network: ``argmax`` over the class scores.

    A float model is trained on its logits, so in the float network this module passes its input
    through unchanged (the decision ``logits.argmax(1)`` is what accuracy is computed from anyway);
    the quantized graph turns it into an :class:`~flow.ir.graph.ArgMax` layer that the hardware
    implements, and that outputs the class index itself.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x
