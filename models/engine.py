"""The local text engine: step-level (continuous) batching with shared prompt prefixes, off the event loop.

A request is `len(prompts) × n` rows. The worker thread (`models.batching.StepScheduler`) admits waiting rows between
decode steps and retires finished rows at once, so a short request never waits for a long one; the `n` samples of a
prompt share one prefill, and only the last position's logits are computed. Determinism: each row draws from its own
`random.Random(seed)` by inverse CDF over its own distribution, and rows are left-padded with positions from their
own token counts, so a seeded sample does not depend on what shares the batch (docs/models.md)."""
from __future__ import annotations

import inspect
import logging
import os
import random
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from models.batching import Row, StepScheduler
from models.config import ModelSettings
from models.errors import BadRequest, RequestTooLarge
from models.loading import LoadedModel, load_causal_lm
from models.registry import ModelSpec

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
DEFAULT_INSTRUCTION = "Complete the sentence."
CDF_BLOCK = 1024  # tokens per block of the two-level inverse CDF (sample_tokens)
NUCLEUS_CANDIDATES = 1024  # top-p looks at this many top tokens first; a row whose nucleus is wider gets a full sort


@dataclass(frozen=True)
class SampleRow:
    prompt_ids: tuple[int, ...]
    temperature: float
    top_p: float
    max_new_tokens: int
    stop: tuple[str, ...]
    seed: int


def row_seed(seed: int | None, prompt_index: int, sample_index: int) -> int:
    if seed is None:
        return secrets.randbits(63)
    return (seed * 1_000_003 + prompt_index * 10_007 + sample_index) % (2**63)


def cut_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    positions = [text.find(s) for s in stop if s and s in text]
    if not positions:
        return text, False
    return text[:min(positions)], True


class LocalTextEngine:
    def __init__(self, spec: ModelSpec, settings: ModelSettings, *, quantization: str | None = None,
                 device: str | None = None):
        self.spec, self.settings = spec, settings
        self._quantization, self._device = quantization, device
        self.loaded: LoadedModel | None = None
        self.batch = DecodeBatch(self)
        self.queue = StepScheduler(self.batch, max_rows=settings.engine_max_batch,
                                   max_tokens=settings.engine_max_batch_tokens,
                                   max_wait_s=settings.engine_max_wait_ms / 1000, capacity=settings.engine_queue_size,
                                   name=spec.name, setup=self._load)

    # ---------- public API ----------
    @property
    def name(self) -> str:
        return self.spec.name

    async def ready(self) -> LocalTextEngine:
        await self.queue.ready()
        return self

    def info(self) -> dict[str, Any]:
        return self.loaded.describe() if self.loaded else {"name": self.name, "loaded": False}

    @property
    def tokenizer(self) -> Any:
        if self.loaded is None:
            raise RuntimeError("await engine.ready() first")
        return self.loaded.tokenizer

    def tokenize(self, text: str) -> list[str]:
        """The pieces the model sees, as readable strings ("▁straw", "berry")."""
        tokenizer = self.tokenizer
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        # Byte-fallback pieces (<0xD0>) stay as they are: they are what a model sees for a rare letter.
        return [token if token.startswith("<0x") else tokenizer.convert_tokens_to_string([token])
                for token in tokenizer.convert_ids_to_tokens(ids)]

    def format_prompt(self, text: str, instruction: str | None = None) -> str:
        """Base models continue the text as is; chat models get their template with an instruction."""
        if self.spec.prompt_style != "chat":
            return text
        messages = [{"role": "system", "content": instruction or DEFAULT_INSTRUCTION},
                    {"role": "user", "content": text}]
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    async def generate(self, prompts: list[str], *, n: int = 1, temperature: float = 0.0, top_p: float = 1.0,
                       max_new_tokens: int = 32, stop: list[str] | None = None, seed: int | None = None,
                       timeout: float | None = None) -> list[list[str]]:
        """For each prompt, `n` continuations (the prompt itself stripped)."""
        settings = self.settings
        if not prompts:
            raise BadRequest("no prompts")
        if n < 1 or n > settings.engine_max_n:
            raise RequestTooLarge("n", n, settings.engine_max_n)
        if max_new_tokens < 1 or max_new_tokens > settings.engine_max_new_tokens:
            raise RequestTooLarge("max_new_tokens", max_new_tokens, settings.engine_max_new_tokens)
        if temperature < 0 or not 0 < top_p <= 1:
            raise BadRequest("temperature must be ≥ 0 and top_p in (0, 1]")
        await self.ready()
        rows = []
        for p_index, prompt in enumerate(prompts):
            if not prompt or not prompt.strip():
                raise BadRequest("empty prompt")
            ids = tuple(self._encode(prompt))
            if len(ids) > settings.engine_max_prompt_tokens:
                # Rejected, not truncated: cutting a prompt silently changes the experiment the user asked for.
                raise RequestTooLarge("prompt tokens", len(ids), settings.engine_max_prompt_tokens)
            for s_index in range(n):
                rows.append(SampleRow(ids, float(temperature), float(top_p), max_new_tokens, tuple(stop or ()),
                                      row_seed(seed, p_index, s_index)))
        flat = await self.queue.submit(rows, timeout=timeout or settings.engine_request_timeout_s)
        return [flat[i * n:(i + 1) * n] for i in range(len(prompts))]

    async def close(self, drain: bool = True) -> None:
        await self.queue.close(drain=drain)

    # ---------- worker thread ----------
    def _encode(self, prompt: str) -> list[int]:
        # Chat prompts already contain the template's special tokens.
        special = self.spec.prompt_style != "chat"
        return list(self.tokenizer(prompt, add_special_tokens=special)["input_ids"])

    def _load(self) -> None:
        import torch

        torch.set_num_threads(self.settings.torch_threads or default_torch_threads())
        self.loaded = load_causal_lm(self.spec, self.settings, quantization=self._quantization, device=self._device)
        self.batch.bind(self.loaded)
        log.info("loaded %s (torch threads: %d)", self.loaded.describe(), torch.get_num_threads())


def default_torch_threads() -> int:
    """One core fewer than the process may use (at least one): the event loop keeps a core while the engine runs,
    and torch's OpenMP pool never waits at a step barrier for a thread the OS has descheduled, which on a shared
    2-core machine cost more than the second thread gained (docs/models.md, "Threads")."""
    return max(1, len(os.sched_getaffinity(0)) - 1)


@dataclass(eq=False)
class _Live:
    """A running row's decoding state."""
    row: Row
    payload: SampleRow
    rng: random.Random
    produced: list[int] = field(default_factory=list)
    text: str = ""  # decoded so far, maintained incrementally (for stop strings)
    prefix_offset: int = 0
    read_offset: int = 0
    stopped: bool = False


class DecodeBatch:
    """The running batch for `StepScheduler`: one KV cache (`DynamicCache` with plain full-length layers), an
    attention mask, each row's last token and next position. Rows are aligned at the right edge; a newcomer with a
    longer prompt left-pads the others, and columns that are padding for every row are trimmed when rows leave."""

    def __init__(self, engine: LocalTextEngine):
        self.engine = engine
        self.loaded: LoadedModel | None = None
        self.live: list[_Live] = []
        self.cache: Any = None
        self.mask: torch.Tensor | None = None
        self.last: torch.Tensor | None = None  # (B,) last sampled token
        self.positions: torch.Tensor | None = None  # (B,) position id of the last token
        self.temperature: torch.Tensor | None = None
        self.top_p: torch.Tensor | None = None
        self.prefill_rows = 0  # prompts actually prefilled (after sharing)
        self.prefill_tokens = 0
        self.share_prefixes = True  # False only to measure what sharing saves (bench/engine.py)
        self.tokens_generated = 0

    def bind(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        model = loaded.model
        parameters = inspect.signature(model.forward).parameters
        # transformers ≥ 5.x names the KV cache `cache` (`past_key_values` is deprecated, removed in 5.40).
        self._cache_arg = "cache" if "cache" in parameters else "past_key_values"
        self._keep_arg = next((name for name in ("logits_to_keep", "num_logits_to_keep") if name in parameters),
                              None)
        self._eos = set(_eos_ids(model, loaded.tokenizer))
        self._pad = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else 0

    # ---------- StepModel ----------
    def cost(self, payload: SampleRow) -> int:
        return len(payload.prompt_ids) + payload.max_new_tokens

    def admit(self, rows: list[Row]) -> list[tuple[Row, Any]]:
        import torch

        loaded = self._loaded()
        device = loaded.device
        groups: dict[Any, int] = {}
        keys = [row.payload.prompt_ids if self.share_prefixes else (row.payload.prompt_ids, id(row)) for row in rows]
        for key in keys:
            groups.setdefault(key, len(groups))
        prompts = [key if self.share_prefixes else key[0] for key in groups]
        width = max(len(p) for p in prompts)
        ids = torch.tensor([[self._pad] * (width - len(p)) + list(p) for p in prompts], device=device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = self._new_cache()
        with torch.inference_mode():
            logits = self._forward(ids, mask, positions, cache)
        self.prefill_rows += len(prompts)
        self.prefill_tokens += sum(len(p) for p in prompts)
        # The n samples of a prompt share its prefill: its cache row is copied to each of them.
        index = torch.tensor([groups[key] for key in keys], device=device)
        for layer in cache.layers:
            layer.keys = layer.keys.index_select(0, index)
            layer.values = layer.values.index_select(0, index)
        fresh = [_Live(row, row.payload, random.Random(row.payload.seed)) for row in rows]
        temperature = torch.tensor([r.payload.temperature for r in rows], device=device, dtype=torch.float32)
        top_p = torch.tensor([r.payload.top_p for r in rows], device=device, dtype=torch.float32)
        tokens = self._sample(logits.index_select(0, index), temperature, top_p, fresh)
        self._merge(fresh, cache, mask.index_select(0, index), torch.tensor(tokens, device=device),
                    positions[:, -1].index_select(0, index), temperature, top_p)
        return self._advance(tokens, first=len(self.live) - len(fresh))

    def step(self) -> list[tuple[Row, Any]]:
        import torch

        assert self.mask is not None and self.last is not None and self.positions is not None
        assert self.temperature is not None and self.top_p is not None
        ones = torch.ones((len(self.live), 1), dtype=self.mask.dtype, device=self.mask.device)
        self.mask = torch.cat([self.mask, ones], dim=1)
        self.positions = self.positions + 1
        with torch.inference_mode():
            logits = self._forward(self.last.unsqueeze(1), self.mask, self.positions.unsqueeze(1), self.cache)
        tokens = self._sample(logits, self.temperature, self.top_p, self.live)
        self.last = torch.tensor(tokens, device=self.mask.device)
        return self._advance(tokens, first=0)

    def drop(self, rows: list[Row]) -> None:
        leaving = set(rows)
        self._keep([i for i, live in enumerate(self.live) if live.row not in leaving])

    def reset(self) -> None:
        self.live, self.cache, self.mask, self.last, self.positions = [], None, None, None, None
        self.temperature = self.top_p = None

    # ---------- internals ----------
    def _loaded(self) -> LoadedModel:
        if self.loaded is None:
            raise RuntimeError("the engine's model is not loaded")
        return self.loaded

    def _new_cache(self) -> Any:
        # Plain full-length layers, also for sliding-window models (Gemma 3): rows are re-aligned by padding and
        # trimming columns, which a cropping sliding-window layer would not survive. The window itself is still
        # applied, by the model's attention mask.
        from transformers import DynamicCache

        return DynamicCache()

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any) -> torch.Tensor:
        """The last position's logits (float32), computed for the last position only where the model allows."""
        model = self._loaded().model
        kwargs: dict[str, Any] = {self._cache_arg: cache}
        if self._keep_arg is not None:
            kwargs[self._keep_arg] = 1
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, **kwargs)
        logits: torch.Tensor = out.logits[:, -1, :].float()
        return logits

    def _sample(self, logits: torch.Tensor, temperature: torch.Tensor, top_p: torch.Tensor,
                live: list[_Live]) -> list[int]:
        import torch

        uniforms = torch.tensor([row.rng.random() for row in live], dtype=torch.float32, device=logits.device)
        with torch.inference_mode():  # the step's logits are inference tensors: updated in place, no autograd
            return sample_tokens(logits, temperature, top_p, uniforms, overwrite=True).tolist()

    def _merge(self, fresh: list[_Live], cache: Any, mask: torch.Tensor, last: torch.Tensor,
               positions: torch.Tensor, temperature: torch.Tensor, top_p: torch.Tensor) -> None:
        import torch
        import torch.nn.functional as F

        if not self.live:
            self.live, self.cache, self.mask, self.last = fresh, cache, mask, last
            self.positions, self.temperature, self.top_p = positions, temperature, top_p
            return
        assert self.mask is not None and self.last is not None and self.positions is not None
        assert self.temperature is not None and self.top_p is not None
        old_width, new_width = self.mask.shape[1], mask.shape[1]
        width = max(old_width, new_width)
        for old, new in zip(self.cache.layers, cache.layers, strict=True):
            for name in ("keys", "values"):
                a, b = getattr(old, name), getattr(new, name)
                a = F.pad(a, (0, 0, width - old_width, 0)) if width > old_width else a
                b = F.pad(b, (0, 0, width - new_width, 0)) if width > new_width else b
                setattr(old, name, torch.cat([a, b], dim=0))
        self.mask = torch.cat([F.pad(self.mask, (width - old_width, 0)), F.pad(mask, (width - new_width, 0))])
        self.live = self.live + fresh
        self.last = torch.cat([self.last, last])
        self.positions = torch.cat([self.positions, positions])
        self.temperature = torch.cat([self.temperature, temperature])
        self.top_p = torch.cat([self.top_p, top_p])

    def _advance(self, tokens: list[int], first: int) -> list[tuple[Row, Any]]:
        """Record each row's new token (rows from `first` on); retire the rows that ended."""
        tokenizer = self._loaded().tokenizer
        finished: list[tuple[Row, Any]] = []
        keep: list[int] = list(range(first))
        for offset, token in enumerate(tokens):
            index = first + offset
            live = self.live[index]
            ended = token in self._eos
            if not ended:
                live.produced.append(token)
                self.tokens_generated += 1
                payload = live.payload
                if payload.stop and _extend_text(live, tokenizer):
                    ended = True
                if len(live.produced) >= payload.max_new_tokens:
                    ended = True
            if ended:
                finished.append((live.row, _final_text(live, tokenizer)))
            else:
                keep.append(index)
        if len(keep) != len(self.live):
            self._keep(keep)
        return finished

    def _keep(self, keep: list[int]) -> None:
        """Shrink the batch to the rows at `keep`; columns that are padding for every remaining row go too."""
        import torch

        if not keep:
            self.reset()
            return
        if len(keep) == len(self.live):
            return
        assert self.mask is not None and self.last is not None and self.positions is not None
        assert self.temperature is not None and self.top_p is not None
        index = torch.tensor(keep, device=self.mask.device)
        mask = self.mask.index_select(0, index)
        start = int(mask.any(0).nonzero()[0])
        self.mask = mask[:, start:]
        for layer in self.cache.layers:
            layer.keys = layer.keys.index_select(0, index)[:, :, start:]
            layer.values = layer.values.index_select(0, index)[:, :, start:]
        self.live = [self.live[i] for i in keep]
        self.last = self.last.index_select(0, index)
        self.positions = self.positions.index_select(0, index)
        self.temperature = self.temperature.index_select(0, index)
        self.top_p = self.top_p.index_select(0, index)


def sample_tokens(logits: torch.Tensor, temperature: torch.Tensor, top_p: torch.Tensor,
                  uniforms: torch.Tensor, *, overwrite: bool = False) -> torch.Tensor:
    """One token per row, vectorized: argmax where temperature is 0, else inverse-CDF sampling with the row's
    uniform number from softmax(logits / temperature), restricted to the top-p nucleus where top_p < 1.
    Every operation is row-wise, so a row's token depends only on its own logits, parameters and number.

    `overwrite=True` lets it work in `logits` itself (the engine's step owns its logits). With Gemma's 262k-token
    vocabulary every full pass over the rows costs about as much as a layer of the model, so the common case (every
    row sampled, top_p = 1) makes three: max, exp in place, and the block sums of `_inverse_cdf`."""
    import torch

    greedy = (temperature <= 0).nonzero().squeeze(1)
    sampled = (temperature > 0).nonzero().squeeze(1)
    tokens = torch.empty(logits.shape[0], dtype=torch.long, device=logits.device)
    if greedy.numel():
        tokens[greedy] = logits.index_select(0, greedy).argmax(dim=-1)
    if sampled.numel() == 0:
        return tokens
    every_row = sampled.numel() == logits.shape[0]
    rows = (logits if overwrite else logits.clone()) if every_row else logits.index_select(0, sampled)
    # Unnormalized softmax, in place: exp((x - max) / T). The normalization cancels in the inverse CDF.
    weights = rows.sub_(rows.amax(dim=-1, keepdim=True)).div_(temperature.index_select(0, sampled).unsqueeze(1))
    weights = weights.exp_()
    u = uniforms.index_select(0, sampled)
    p = top_p.index_select(0, sampled)
    chosen = torch.empty_like(sampled)
    full = (p >= 1).nonzero().squeeze(1)
    if full.numel():
        part = weights if full.numel() == weights.shape[0] else weights.index_select(0, full)
        chosen[full] = _inverse_cdf(part, u.index_select(0, full))
    nucleus = (p < 1).nonzero().squeeze(1)
    if nucleus.numel():
        rows = weights.index_select(0, nucleus)
        rows = rows / rows.sum(-1, keepdim=True)
        row_p, row_u = p.index_select(0, nucleus), u.index_select(0, nucleus)
        k = min(NUCLEUS_CANDIDATES, rows.shape[1])
        top, order = rows.topk(k, dim=-1)  # sorted, descending
        wide = top.sum(-1) < row_p  # the nucleus reaches past the candidates: sort the whole row
        if bool(wide.any()):
            top, order = rows.sort(dim=-1, descending=True)
        keep = top.cumsum(-1) - top < row_p.unsqueeze(1)
        cdf = (top * keep).cumsum(-1)
        pick = torch.searchsorted(cdf, (row_u * cdf[:, -1]).unsqueeze(1), right=True)
        pick = pick.clamp(max=top.shape[1] - 1)
        chosen[nucleus] = order.gather(1, pick).squeeze(1)
    tokens[sampled] = chosen
    return tokens


def _inverse_cdf(weights: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """The first index whose running sum of `weights` (non-negative, unnormalized) passes u × total, per row, in
    two levels: the running sum over blocks of CDF_BLOCK tokens picks the block, a running sum inside that one
    block picks the token. Same order and result as one cumsum over the whole row, without writing a second
    vocabulary-sized tensor (the cumsum was the single most expensive operation of a sampled step)."""
    import torch
    import torch.nn.functional as F

    count, vocab = weights.shape
    padded = -vocab % CDF_BLOCK
    blocks = (F.pad(weights, (0, padded)) if padded else weights).view(count, -1, CDF_BLOCK)
    outer = blocks.sum(-1).cumsum(-1)  # (rows, blocks)
    target = (uniforms * outer[:, -1]).unsqueeze(1)
    block = torch.searchsorted(outer, target, right=True).clamp(max=outer.shape[1] - 1)  # (rows, 1)
    before = torch.where(block > 0, outer.gather(1, (block - 1).clamp(min=0)), torch.zeros_like(target))
    inner = blocks.gather(1, block.unsqueeze(2).expand(count, 1, CDF_BLOCK)).squeeze(1).cumsum(-1)
    # Rounding can put the target a hair past the block's own sum: the block's last token then, never padding.
    offset = torch.searchsorted(inner, target - before, right=True)
    index = block * CDF_BLOCK + offset
    last = torch.clamp(block * CDF_BLOCK + CDF_BLOCK - 1, max=vocab - 1)
    return torch.minimum(index, last).squeeze(1)


def _extend_text(live: _Live, tokenizer: Any) -> bool:
    """Decode only the new tail (the prefix/read offsets of vLLM's incremental detokenizer) and look for a stop
    string where the new text could complete one. True when a stop string appeared."""
    produced = live.produced
    before = tokenizer.decode(produced[live.prefix_offset:live.read_offset], skip_special_tokens=True)
    after = tokenizer.decode(produced[live.prefix_offset:], skip_special_tokens=True)
    if after.endswith("\ufffd") or len(after) <= len(before):
        return False  # an incomplete UTF-8 sequence (or nothing visible yet): wait for the next token
    old_length = len(live.text)
    live.text += after[len(before):]
    live.prefix_offset, live.read_offset = live.read_offset, len(produced)
    longest = max(len(s) for s in live.payload.stop)
    tail = live.text[max(0, old_length - longest + 1):]
    live.stopped = any(s and s in tail for s in live.payload.stop)
    return live.stopped


def _final_text(live: _Live, tokenizer: Any) -> str:
    text = tokenizer.decode(live.produced, skip_special_tokens=True) if live.produced else ""
    return cut_at_stop(text, live.payload.stop)[0] if live.payload.stop else str(text)


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids = model.generation_config.eos_token_id if model.generation_config is not None else None
    ids = list(ids) if isinstance(ids, list) else [ids] if ids is not None else []  # a copy: never grow the config
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    for token in ("<end_of_turn>", "<|im_end|>"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id:
            ids.append(token_id)
    return ids
