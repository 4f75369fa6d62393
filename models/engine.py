"""The local text engine: batched sampling with per-request parameters, off the event loop.

Every row (one prompt × one sample) carries its own temperature, top-p, token budget, stop strings and
torch.Generator, so a seeded sample does not depend on what else shares its batch. Prompts are left-padded;
positions come from the attention mask, so padding does not change a row's output."""
import logging
import os
import secrets
from dataclasses import dataclass
from typing import Any

from models.batching import BatchQueue, Row
from models.config import ModelSettings
from models.errors import BadRequest, RequestTooLarge
from models.loading import LoadedModel, load_causal_lm
from models.registry import ModelSpec

log = logging.getLogger(__name__)
DEFAULT_INSTRUCTION = "Complete the sentence."


@dataclass
class SampleRow:
    prompt_ids: list[int]
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
        self.queue = BatchQueue(self._run_batch, max_batch=settings.engine_max_batch,
                                max_wait_s=settings.engine_max_wait_ms / 1000, capacity=settings.engine_queue_size,
                                name=spec.name, setup=self._load)

    # ---------- public API ----------
    @property
    def name(self) -> str:
        return self.spec.name

    async def ready(self) -> "LocalTextEngine":
        await self.queue.ready()
        return self

    def info(self) -> dict[str, Any]:
        return self.loaded.describe() if self.loaded else {"name": self.name, "loaded": False}

    @property
    def tokenizer(self):
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
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

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
            ids = self._encode(prompt)
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
        return self.tokenizer(prompt, add_special_tokens=special)["input_ids"]

    def _load(self) -> None:
        import torch

        if self.settings.torch_threads:
            torch.set_num_threads(self.settings.torch_threads)
        self.loaded = load_causal_lm(self.spec, self.settings, quantization=self._quantization, device=self._device)
        log.info("loaded %s", self.loaded.describe())

    def _run_batch(self, rows: list[Row]) -> list[str]:
        import torch

        loaded = self.loaded
        model, tokenizer, device = loaded.model, loaded.tokenizer, loaded.device
        payloads: list[SampleRow] = [row.payload for row in rows]
        width = max(len(p.prompt_ids) for p in payloads)
        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(p.prompt_ids)) + p.prompt_ids for p in payloads])
        mask = torch.tensor([[0] * (width - len(p.prompt_ids)) + [1] * len(p.prompt_ids) for p in payloads])
        input_ids, mask = input_ids.to(device), mask.to(device)
        generators = [torch.Generator(device="cpu").manual_seed(p.seed) for p in payloads]
        eos = set(_eos_ids(model, tokenizer))
        steps = max(p.max_new_tokens for p in payloads)
        produced: list[list[int]] = [[] for _ in payloads]
        done = [row.cancelled for row in rows]
        texts = [""] * len(payloads)
        past = None
        current = input_ids
        cache_arg = _cache_argument(model)
        with torch.inference_mode():
            for step in range(steps):
                positions = (mask.cumsum(-1) - 1).clamp(min=0)
                out = model(input_ids=current, attention_mask=mask, use_cache=True,
                            position_ids=positions[:, -current.shape[1]:], **{cache_arg: past})
                past = getattr(out, cache_arg)
                logits = out.logits[:, -1, :].float().cpu()
                next_ids = []
                for i, p in enumerate(payloads):
                    if done[i] or rows[i].cancelled:
                        done[i] = True
                        next_ids.append(pad)
                        continue
                    token = _sample(logits[i], p.temperature, p.top_p, generators[i])
                    if token in eos:
                        done[i] = True
                        next_ids.append(pad)
                        continue
                    produced[i].append(token)
                    if p.stop:
                        text, stopped = cut_at_stop(tokenizer.decode(produced[i], skip_special_tokens=True), p.stop)
                        if stopped:
                            texts[i] = text
                            done[i] = True
                    if len(produced[i]) >= p.max_new_tokens:
                        done[i] = True
                    next_ids.append(token)
                if all(done):
                    break
                current = torch.tensor(next_ids, device=device).unsqueeze(1)
                mask = torch.cat([mask, torch.ones((len(payloads), 1), dtype=mask.dtype, device=device)], dim=1)
        results = []
        for i, p in enumerate(payloads):
            if texts[i] or not produced[i]:
                results.append(texts[i])
            else:
                text = tokenizer.decode(produced[i], skip_special_tokens=True)
                results.append(cut_at_stop(text, p.stop)[0] if p.stop else text)
        return results


def _sample(logits, temperature: float, top_p: float, generator) -> int:
    import torch

    if temperature == 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p
        keep[0] = True
        filtered = torch.zeros_like(probs)
        filtered[order[keep]] = sorted_probs[keep]
        probs = filtered / filtered.sum()
    return int(torch.multinomial(probs, 1, generator=generator))


def _cache_argument(model) -> str:
    """transformers ≥ 5.x names the KV cache `cache` (`past_key_values` is deprecated, removed in 5.40); older
    versions only know `past_key_values`."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _eos_ids(model, tokenizer) -> list[int]:
    ids = model.generation_config.eos_token_id if model.generation_config is not None else None
    ids = list(ids) if isinstance(ids, list) else [ids] if ids is not None else []  # a copy: never grow the config
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    for token in ("<end_of_turn>", "<|im_end|>"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id:
            ids.append(token_id)
    return ids
