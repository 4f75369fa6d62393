"""Batch sampling and the int8 CPU kernels, on synthetic tensors (no model)."""
import torch
from torch import nn

from models.cpu_int8 import Int8DynamicLinear, footprint_bytes, quantize_linears
from models.engine import sample_tokens


def test_greedy_rows_take_the_argmax_and_sampled_rows_follow_their_distribution():
    logits = torch.tensor([[0.0, 5.0, 1.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    temperature = torch.tensor([0.0, 1.0])
    top_p = torch.tensor([1.0, 1.0])
    counts = torch.zeros(4)
    for u in torch.linspace(0.001, 0.999, 400):
        tokens = sample_tokens(logits, temperature, top_p, torch.tensor([0.5, float(u)]))
        assert tokens[0] == 1
        counts[tokens[1]] += 1
    assert counts.min() >= 95 and counts.max() <= 105  # uniform logits: each quarter of [0, 1) picks one token


def test_top_p_keeps_only_the_nucleus():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    seen = {int(sample_tokens(logits, torch.tensor([1.0]), torch.tensor([0.75]), torch.tensor([float(u)]))[0])
            for u in torch.linspace(0.0, 0.999, 200)}
    assert seen == {0, 1}  # 0.5 + 0.3 reaches 0.75: tokens 2 and 3 are outside the nucleus
    wide = torch.randn(1, 5000)  # a flat distribution whose nucleus is wider than the top-k shortcut
    token = sample_tokens(wide, torch.tensor([1.0]), torch.tensor([0.99]), torch.tensor([0.999]))
    assert 0 <= int(token[0]) < 5000


def test_a_rows_token_does_not_depend_on_its_neighbours():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 3000, generator=generator) * 3
    temperature = torch.tensor([0.0, 0.7, 1.0, 1.5, 1.0, 0.3])
    top_p = torch.tensor([1.0, 0.9, 1.0, 0.5, 0.95, 1.0])
    uniforms = torch.rand(6, generator=generator)
    together = sample_tokens(logits, temperature, top_p, uniforms)
    for row in range(6):
        alone = sample_tokens(logits[row:row + 1], temperature[row:row + 1], top_p[row:row + 1],
                              uniforms[row:row + 1])
        assert int(alone[0]) == int(together[row])


def test_int8_linear_is_close_to_float_and_exactly_row_independent():
    torch.manual_seed(0)
    linear = nn.Linear(64, 300)
    quantized = Int8DynamicLinear(linear)
    x = torch.randn(5, 64)
    x[3] *= 1000  # a neighbour with huge activations would coarsen everyone under a per-tensor scale
    reference = linear(x).detach()
    out = quantized(x)
    error = (out - reference).norm(dim=1) / reference.norm(dim=1)
    assert float(error.max()) < 0.03
    for row in range(5):
        assert torch.equal(quantized(x[row:row + 1])[0], out[row])  # bit for bit, whatever shares the batch
    assert quantized(torch.randn(2, 7, 64)).shape == (2, 7, 300)


def test_quantize_linears_replaces_every_linear_and_counts_packed_weights():
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Sequential(nn.Linear(64, 16, bias=False)))
    before = footprint_bytes(model)
    assert quantize_linears(model) == 2
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    assert 0 < footprint_bytes(model) < before / 2
    assert model(torch.randn(3, 32)).shape == (3, 16)


def test_two_level_inverse_cdf_picks_what_one_running_sum_picks():
    from models.engine import CDF_BLOCK, _inverse_cdf

    generator = torch.Generator().manual_seed(3)
    for vocab in (7, CDF_BLOCK, 3 * CDF_BLOCK + 5, 262_144):
        weights = (torch.randn(4, vocab, generator=generator) * 4).exp()
        weights[:, ::11] = 0.0  # tokens that can never be picked (exp underflow)
        uniforms = torch.rand(4, generator=generator)
        picks = _inverse_cdf(weights.clone(), uniforms)
        reference = torch.searchsorted(weights.double().cumsum(-1),
                                       (uniforms.double() * weights.double().sum(-1)).unsqueeze(1),
                                       right=True).squeeze(1)
        assert torch.equal(picks, reference), vocab
        assert all(float(weights[row, int(picks[row])]) > 0 for row in range(4))
