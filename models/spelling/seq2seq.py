"""Two small spelling transformers of the same architecture: one reads UTF-8 bytes (character-aware, ByT5-style),
one reads Gemma's subword tokens (character-blind, as T5 and PaLM are). Both write characters."""
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = 4
WEIGHTS_DIR = Path(__file__).with_name("weights")
MAX_CHARS = 30  # the longest word either model spells (longer input is refused with a localized message)


@dataclass
class SpellerConfig:
    kind: str  # "bytes" (char-aware) or "tokens" (char-blind)
    chars: list[str]  # output alphabet
    token_ids: list[int] = field(default_factory=list)  # Gemma token ids known to the "tokens" model, in order
    d_model: int = 96
    layers: int = 2
    heads: int = 4
    ff: int = 384
    max_source: int = MAX_CHARS + 2  # source positions: characters (bytes grouped) or tokens
    max_target: int = MAX_CHARS + 1  # characters and EOS

    @property
    def source_vocab(self) -> int:
        return SPECIALS + (256 if self.kind == "bytes" else len(self.token_ids))


UNIT = 4  # source ids per position: a character's UTF-8 bytes (at most 4), or one token id and padding


def byte_units(word: str) -> list[list[int]]:
    """One position per character holding its UTF-8 bytes (ids SPECIALS+byte, PAD-filled to 4). The model still
    reads nothing but bytes — a Cyrillic letter is D0 xx, a digit one byte — but groups them by character (a UTF-8
    lead byte starts one), so the k-th letter sits at position k for every script. That lets a small model learn to
    copy in minutes on a CPU; ByT5 gets the same from depth and a huge corpus."""
    return [[SPECIALS + b for b in char.encode("utf-8")] + [PAD] * (UNIT - len(char.encode("utf-8")))
            for char in word]


class Speller(nn.Module):
    def __init__(self, config: SpellerConfig):
        super().__init__()
        self.config = config
        d = config.d_model
        self.source_embed = nn.Embedding(config.source_vocab, d, padding_idx=PAD)
        self.target_embed = nn.Embedding(SPECIALS + len(config.chars), d, padding_idx=PAD)
        # A position's vector is the sum of its ids' embeddings, each with the embedding of its slot (the byte's
        # offset inside its character; a token always sits in slot 0). Both models carry the same tables.
        # One position table for source and target: the decoder writing character k finds the source position k
        # by matching equal vectors, which a copy-learning model picks up in hundreds of steps instead of thousands.
        self.position = nn.Embedding(max(config.max_source, config.max_target + 1), d)
        self.source_offset = nn.Embedding(UNIT, d)
        # No dropout: every batch is fresh strings, and dropout slowed copy learning down.
        self.transformer = nn.Transformer(d, config.heads, config.layers, config.layers, config.ff, dropout=0.0,
                                          batch_first=True)
        self.output = nn.Linear(d, SPECIALS + len(config.chars))
        self._char_index = {char: SPECIALS + i for i, char in enumerate(config.chars)}
        self._token_index = {token: SPECIALS + i for i, token in enumerate(config.token_ids)}

    # ---------- encoding ----------
    def encode_source(self, word: str, tokenizer: Any = None) -> list[list[int]]:
        """The source sequence: UNIT ids per position."""
        if self.config.kind == "bytes":
            units = byte_units(word)
        else:
            units = [[self._token_index.get(t, UNK)] + [PAD] * (UNIT - 1)
                     for t in tokenizer(word, add_special_tokens=False)["input_ids"]]
        return units[: self.config.max_source] or [[UNK] + [PAD] * (UNIT - 1)]

    def encode_target(self, word: str) -> list[int]:
        return [self._char_index.get(char, UNK) for char in word][: self.config.max_target - 1] + [EOS]

    def decode_target(self, ids: list[int]) -> str:
        chars = []
        for i in ids:
            if i == EOS:
                break
            chars.append(self.config.chars[i - SPECIALS] if i >= SPECIALS else "�")
        return "".join(chars)

    def source_batch(self, words: list[str], tokenizer: Any = None) -> torch.Tensor:
        return pad_sources([self.encode_source(word, tokenizer) for word in words])

    # ---------- model ----------
    def encode(self, source: torch.Tensor) -> torch.Tensor:
        """source: (batch, length, UNIT) ids."""
        slots = self.source_embed(source) + self.source_offset.weight  # (batch, length, UNIT, d)
        slots = slots * (source != PAD).unsqueeze(-1)
        positions = torch.arange(source.shape[1], device=source.device)
        # Embeddings and positions start at the same scale (no √d factor, which would drown the positions).
        src = slots.sum(2) + self.position(positions)
        memory: torch.Tensor = self.transformer.encoder(src, src_key_padding_mask=source[..., 0] == PAD)
        return memory

    def decode(self, memory: torch.Tensor, source: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
        tgt = self.target_embed(target_in) + self.position(torch.arange(target_in.shape[1], device=target_in.device))
        causal = nn.Transformer.generate_square_subsequent_mask(target_in.shape[1], device=target_in.device)
        hidden = self.transformer.decoder(tgt, memory, tgt_mask=causal, tgt_key_padding_mask=target_in == PAD,
                                          memory_key_padding_mask=source[..., 0] == PAD, tgt_is_causal=True)
        logits: torch.Tensor = self.output(hidden)
        return logits

    def forward(self, source: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(source), source, target_in)

    @torch.inference_mode()
    def spell(self, words: list[str], tokenizer: Any = None, batch_size: int = 256) -> list[str]:
        """Greedy decoding, batched; the encoder runs once per batch."""
        self.eval()
        results: list[str] = []
        for start in range(0, len(words), batch_size):
            chunk = words[start:start + batch_size]
            source = self.source_batch(chunk, tokenizer)
            memory = self.encode(source)
            target = torch.full((len(chunk), 1), BOS)
            finished = torch.zeros(len(chunk), dtype=torch.bool)
            for _ in range(self.config.max_target):
                logits = self.decode(memory, source, target)[:, -1]
                logits[:, [PAD, BOS, UNK]] = -1e9
                nxt = logits.argmax(-1)
                nxt[finished] = PAD
                target = torch.cat([target, nxt[:, None]], dim=1)
                finished |= nxt == EOS
                if finished.all():
                    break
            results += [self.decode_target(row[1:].tolist()) for row in target]
        return results

    # ---------- files ----------
    def save(self, name: str, directory: Path = WEIGHTS_DIR) -> Path:
        from safetensors.torch import save_file

        directory.mkdir(parents=True, exist_ok=True)
        # float16 on disk keeps each model small (≤ 8 MB); it is cast back to float32 on load.
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in self.state_dict().items()}
        save_file(state, directory / f"{name}.safetensors")
        (directory / f"{name}.json").write_text(json.dumps(asdict(self.config), ensure_ascii=False))
        return directory / f"{name}.safetensors"

    @classmethod
    def load(cls, name: str, directory: Path = WEIGHTS_DIR) -> "Speller":
        from safetensors.torch import load_file

        config = SpellerConfig(**json.loads((directory / f"{name}.json").read_text()))
        model = cls(config)
        model.load_state_dict({k: v.float() for k, v in load_file(directory / f"{name}.safetensors").items()})
        model.eval()
        return model


def pad_sources(sources: list[list[list[int]]]) -> torch.Tensor:
    width = max(len(units) for units in sources)
    return torch.tensor([units + [[PAD] * UNIT] * (width - len(units)) for units in sources])


def shipped(name: str) -> bool:
    return (WEIGHTS_DIR / f"{name}.safetensors").exists() and (WEIGHTS_DIR / f"{name}.json").exists()
