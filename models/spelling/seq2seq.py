"""Two small spelling transformers: `char-aware` reads UTF-8 bytes (ByT5-style) and writes by pointing at the input's
code points (a copy path: any character it reads it can write); `char-blind` reads subword pieces of its own tokenizer
(`pieces.py`: its training words whole, anything else cut into pieces, the case apart) and writes characters from an
alphabet, so it can spell only what training made it memorise."""
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.spelling.pieces import CASES, case_of

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = 4
WEIGHTS_DIR = Path(__file__).with_name("weights")
# The longest token either model spells, in code points (longer input is refused with a localized message). A
# multi-code-point emoji (a flag, a ZWJ family) counts as its code points: that is the unit the models copy.
MAX_CHARS = 40
COPY_EOS = 0  # char-aware's output index for "end of word"; index j + 1 points at source code point j
IGNORE = -100  # label padding (char-aware's labels use 0 for its end of word)


@dataclass
class SpellerConfig:
    kind: str  # "bytes" (char-aware, pointer output) or "tokens" (char-blind, alphabet output)
    chars: list[str]  # char-blind's output alphabet (char-aware writes by pointing and needs none)
    pieces: int = 0  # the "tokens" model's tokenizer vocabulary (its own, shipped beside the weights)
    d_model: int = 96
    layers: int = 2
    heads: int = 4
    ff: int = 384
    max_source: int = MAX_CHARS  # source positions: code points (bytes grouped) or tokens
    max_target: int = MAX_CHARS + 1  # characters and EOS

    @property
    def source_vocab(self) -> int:
        return SPECIALS + (256 if self.kind == "bytes" else len(CASES) + self.pieces)


UNIT = 4  # source ids per position: a code point's UTF-8 bytes (at most 4), or one token id and padding


def byte_units(word: str) -> list[list[int]]:
    """One position per code point holding its UTF-8 bytes (ids SPECIALS+byte, PAD-filled to 4). The model still
    reads nothing but bytes — a Cyrillic letter is D0 xx, a digit one byte, an emoji four — grouped by code point (a
    UTF-8 lead byte starts one), so the k-th character sits at position k in every script."""
    return [[SPECIALS + b for b in char.encode("utf-8", "surrogatepass")]
            + [PAD] * (UNIT - len(char.encode("utf-8", "surrogatepass"))) for char in word]


class Speller(nn.Module):
    def __init__(self, config: SpellerConfig, tokenizer: Any = None):
        super().__init__()
        self.tokenizer = tokenizer  # char-blind's own (tokenizers.Tokenizer); char-aware reads bytes
        self.config = config
        d = config.d_model
        self.copies = config.kind == "bytes"
        # char-blind's token table is large and each batch touches few rows: sparse gradients keep a step cheap.
        self.source_embed = nn.Embedding(config.source_vocab, d, padding_idx=PAD, sparse=not self.copies)
        # A position's vector is the sum of its ids' embeddings, each with the embedding of its slot (the byte's
        # offset inside its code point; a token always sits in slot 0).
        # One position table for source and target: the decoder writing character k finds source position k by
        # matching equal vectors, which a small model picks up in hundreds of steps.
        self.position = nn.Embedding(max(config.max_source, config.max_target) + 1, d)
        self.source_offset = nn.Embedding(UNIT, d)
        # No dropout: every batch is fresh strings, and dropout slowed learning down.
        self.transformer = nn.Transformer(d, config.heads, config.layers, config.layers, config.ff, dropout=0.0,
                                          batch_first=True)
        if self.copies:
            # Pointer output: a query from the decoder state against a key per source position, plus one
            # end-of-word score. The decoder reads back what it wrote as that character's byte embedding.
            self.bos = nn.Parameter(torch.randn(d) * 0.02)
            self.query = nn.Linear(d, d)
            self.key = nn.Linear(d, d)
            self.end = nn.Linear(d, 1)
        else:
            self.target_embed = nn.Embedding(SPECIALS + len(config.chars), d, padding_idx=PAD)
            self.output = nn.Linear(d, SPECIALS + len(config.chars))
        self._char_index = {char: SPECIALS + i for i, char in enumerate(config.chars)}
        self._token_cache: dict[str, list[list[int]]] = {}

    # ---------- encoding ----------
    def encode_source(self, word: str) -> list[list[int]]:
        """The source sequence: UNIT ids per position. char-blind: the word's case first, then its own tokenizer's
        pieces of the lower-cased word."""
        if self.copies:
            units = byte_units(word)
        else:
            units = self._token_cache.get(word) or []
            if not units:
                ids = self.tokenizer.encode(word.lower()).ids
                units = [[SPECIALS + i] + [PAD] * (UNIT - 1)
                         for i in [case_of(word), *(len(CASES) + piece for piece in ids)]]
                if len(self._token_cache) < 500_000:  # the training stream repeats frequent words
                    self._token_cache[word] = units
        return units[: self.config.max_source] or [[UNK] + [PAD] * (UNIT - 1)]

    def encode_target(self, word: str) -> list[int]:
        """Training labels: char-aware points at each source code point in turn (j + 1), then at its end (0);
        char-blind names each character in its alphabet, then EOS."""
        if self.copies:
            length = min(len(word), self.config.max_source, self.config.max_target - 1)
            return [j + 1 for j in range(length)] + [COPY_EOS]
        return [self._char_index.get(char, UNK) for char in word][: self.config.max_target - 1] + [EOS]

    def feed(self, labels: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: the decoder's inputs are BOS, then each previous label as an input id (char-aware's
        pointer j + 1 becomes SPECIALS + j); ends and padding become PAD."""
        previous = labels[:, :-1]
        if self.copies:
            ids = torch.where(previous > 0, previous - 1 + SPECIALS, PAD)
        else:
            ids = torch.where((previous == EOS) | (previous == IGNORE), PAD, previous)
        return torch.cat([torch.full((labels.shape[0], 1), BOS), ids], dim=1)

    def source_batch(self, words: list[str]) -> torch.Tensor:
        return pad_sources([self.encode_source(word) for word in words])

    # ---------- model ----------
    def _units(self, source: torch.Tensor) -> torch.Tensor:
        """(batch, length, d): the sum of each position's byte (or token) embeddings, without position."""
        slots = self.source_embed(source) + self.source_offset.weight  # (batch, length, UNIT, d)
        units: torch.Tensor = (slots * (source != PAD).unsqueeze(-1)).sum(2)
        return units

    def encode(self, source: torch.Tensor) -> torch.Tensor:
        """source: (batch, length, UNIT) ids."""
        positions = torch.arange(source.shape[1], device=source.device)
        # Embeddings and positions start at the same scale (no √d factor, which would drown the positions).
        src = self._units(source) + self.position(positions)
        memory: torch.Tensor = self.transformer.encoder(src, src_key_padding_mask=source[..., 0] == PAD)
        return memory

    def _target_vectors(self, source: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
        if not self.copies:
            vectors: torch.Tensor = self.target_embed(target_in)
            return vectors
        # target_in holds what was written as SPECIALS + source position, BOS first, PAD after the end: the
        # decoder reads the written character's own byte embedding.
        units = self._units(source)
        index = (target_in - SPECIALS).clamp(0, source.shape[1] - 1)
        vectors = torch.gather(units, 1, index.unsqueeze(-1).expand(-1, -1, units.shape[-1]))
        vectors = torch.where((target_in == BOS).unsqueeze(-1), self.bos.expand_as(vectors), vectors)
        return vectors * (target_in != PAD).unsqueeze(-1)

    def decode(self, memory: torch.Tensor, source: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
        steps = target_in.shape[1]
        tgt = self._target_vectors(source, target_in) + self.position(torch.arange(steps, device=target_in.device))
        causal = nn.Transformer.generate_square_subsequent_mask(steps, device=target_in.device)
        padding = source[..., 0] == PAD
        hidden = self.transformer.decoder(tgt, memory, tgt_mask=causal, tgt_key_padding_mask=target_in == PAD,
                                          memory_key_padding_mask=padding, tgt_is_causal=True)
        if not self.copies:
            logits: torch.Tensor = self.output(hidden)
            return logits
        scores = self.query(hidden) @ self.key(memory).transpose(1, 2) / self.config.d_model ** 0.5
        scores = scores.masked_fill(padding.unsqueeze(1), -1e4)
        return torch.cat([self.end(hidden), scores], dim=-1)  # (batch, steps, 1 + source length)

    def forward(self, source: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(source), source, target_in)

    @torch.inference_mode()
    def spell(self, words: list[str], batch_size: int = 256) -> list[str]:
        """Greedy decoding, batched; the encoder runs once per batch."""
        self.eval()
        results: list[str] = []
        for start in range(0, len(words), batch_size):
            chunk = words[start:start + batch_size]
            source = self.source_batch(chunk)
            memory = self.encode(source)
            target = torch.full((len(chunk), 1), BOS)
            finished = torch.zeros(len(chunk), dtype=torch.bool)
            end = COPY_EOS if self.copies else EOS
            for _ in range(self.config.max_target):
                logits = self.decode(memory, source, target)[:, -1]
                if not self.copies:
                    logits[:, [PAD, BOS, UNK]] = -1e9
                nxt = logits.argmax(-1)
                finished |= nxt == end
                fed = nxt - 1 + SPECIALS if self.copies else nxt
                fed[finished] = PAD
                target = torch.cat([target, fed[:, None]], dim=1)
                if finished.all():
                    break
            results += [self._written(word, row[1:].tolist()) for word, row in zip(chunk, target, strict=True)]
        return results

    def _written(self, word: str, ids: list[int]) -> str:
        chars = []
        for i in ids:
            if i in (PAD, EOS):
                break
            if self.copies:
                chars.append(word[i - SPECIALS] if SPECIALS <= i < SPECIALS + len(word) else "\ufffd")
            else:
                chars.append(self.config.chars[i - SPECIALS] if i >= SPECIALS else "�")
        return "".join(chars)

    # ---------- files ----------
    def save(self, name: str, directory: Path = WEIGHTS_DIR) -> Path:
        from safetensors.torch import save_file

        directory.mkdir(parents=True, exist_ok=True)
        # float16 on disk keeps each model small; it is cast back to float32 on load.
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in self.state_dict().items()}
        save_file(state, directory / f"{name}.safetensors")
        (directory / f"{name}.json").write_text(json.dumps(asdict(self.config), ensure_ascii=False))
        if self.tokenizer is not None:
            self.tokenizer.save(str(directory / f"{name}.tokenizer.json"), pretty=False)
        return directory / f"{name}.safetensors"

    @classmethod
    def load(cls, name: str, directory: Path = WEIGHTS_DIR) -> "Speller":
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        config = SpellerConfig(**json.loads((directory / f"{name}.json").read_text()))
        pieces = directory / f"{name}.tokenizer.json"
        model = cls(config, Tokenizer.from_file(str(pieces)) if config.kind == "tokens" else None)
        model.load_state_dict({k: v.float() for k, v in load_file(directory / f"{name}.safetensors").items()})
        model.eval()
        return model


def pad_sources(sources: list[list[list[int]]]) -> torch.Tensor:
    width = max(len(units) for units in sources)
    return torch.tensor([units + [[PAD] * UNIT] * (width - len(units)) for units in sources])


def shipped(name: str) -> bool:
    return (WEIGHTS_DIR / f"{name}.safetensors").exists() and (WEIGHTS_DIR / f"{name}.json").exists()
