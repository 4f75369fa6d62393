"""Int8 CPU inference: every `nn.Linear` (the output layer included) replaced by PyTorch's fbgemm dynamic-int8
kernel (`torch.ops.quantized.linear_dynamic`) with int8 weights per output channel.

Unlike `quantize_dynamic`, activations are quantized per row (each row divided by its own largest magnitude, two
constant anchor features pin the tensor's range to [-1, 1]), so a row's output does not depend on what shares its
batch and a seeded sample stays the same. Tied embeddings (Gemma): the output layer gets its own int8 copy; the
input embedding stays float32. Details and measurements: docs/models.md."""
from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn


class Int8DynamicLinear(nn.Module):
    anchors: torch.Tensor  # registered buffers, typed for mypy
    bias: torch.Tensor | None

    def __init__(self, linear: nn.Linear):
        super().__init__()
        weight = linear.weight.detach().float()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        scale = (weight.abs().amax(dim=1) / 127.0).clamp(min=1e-12).double()
        padded = torch.cat([weight, weight.new_zeros(self.out_features, 2)], dim=1)  # the anchors' zero weights
        with warnings.catch_warnings():  # quantized-tensor constructors warn that they are deprecated
            warnings.simplefilter("ignore")
            qweight = torch.quantize_per_channel(padded, scale, torch.zeros(self.out_features, dtype=torch.long),
                                                 0, torch.qint8)
            self._packed = torch.ops.quantized.linear_prepack(qweight, None)
        self.weight_bytes = self.out_features * (self.in_features + 2) + 8 * self.out_features
        bias = linear.bias.detach().float().clone() if linear.bias is not None else None
        self.register_buffer("bias", bias)
        self.register_buffer("anchors", torch.tensor([1.0, -1.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape, dtype = x.shape, x.dtype
        rows = x.reshape(-1, self.in_features).float()
        norm = rows.abs().amax(dim=1, keepdim=True).clamp(min=1e-12)
        anchored = torch.cat([rows / norm, self.anchors.expand(rows.shape[0], 2)], dim=1)
        out = torch.ops.quantized.linear_dynamic(anchored, self._packed, True) * norm  # reduce_range: x86 fbgemm
        if self.bias is not None:
            out = out + self.bias
        result: torch.Tensor = out.reshape(*shape[:-1], self.out_features).to(dtype)
        return result

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per-channel, per-row dynamic"


def quantize_linears(model: nn.Module) -> int:
    """Replace every nn.Linear in `model` (in place); returns how many were replaced."""
    targets = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    for name, module in targets:
        parent_name, _, attribute = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attribute, Int8DynamicLinear(module))
    return len(targets)


def footprint_bytes(model: nn.Module) -> int:
    """Parameters and buffers (shared ones once) plus the packed int8 weights, which torch does not count."""
    seen: set[int] = set()
    total = 0
    tensors: list[Any] = list(model.parameters()) + list(model.buffers())
    for tensor in tensors:
        if tensor.data_ptr() in seen:
            continue
        seen.add(tensor.data_ptr())
        total += tensor.numel() * tensor.element_size()
    return total + sum(m.weight_bytes for m in model.modules() if isinstance(m, Int8DynamicLinear))


ATTENTION = "paperbot_sdpa_f64"


def _sdpa_float64(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                  attention_mask: torch.Tensor | None, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, Any]:
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    out, weights = sdpa_attention_forward(module, query.double(), key.double(), value.double(), attention_mask,
                                          *args, **kwargs)
    return out.to(query.dtype), weights


def use_float64_attention(model: Any) -> None:
    """Attention in float64, rounded back to float32. Left padding and batch size change the blocking of the
    attention kernel's sums, so a row's float32 attention output differs between batches in its last bits; int8
    activation rounding would amplify such a difference into a different token now and then. In float64 the
    difference is ~1e-16 and vanishes when rounded to float32, so with the exact int8 linears a row's forward pass
    does not depend on its neighbours. Attention is a small part of the work at these context lengths."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION, _sdpa_float64)
    AttentionMaskInterface.register(ATTENTION, sdpa_mask)
    model.set_attn_implementation(ATTENTION)
