"""Two small spelling transformers of the same architecture: one reads UTF-8 bytes (character-aware, ByT5-style),
one reads Gemma's subword tokens (character-blind, as T5 and PaLM are). Both write characters."""
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = 4
WEIGHTS_DIR = Path(__file__).with_name("weights")


@dataclass
class SpellerConfig:
    kind: str  # "bytes" (char-aware) or "tokens" (char-blind)
    chars: list[str]  # output alphabet
    token_ids: list[int] = field(default_factory=list)  # Gemma token ids known to the "tokens" model, in order
    d_model: int = 128
    layers: int = 2
    heads: int = 4
    ff: int = 512
    max_source: int = 48
    max_target: int = 32

    @property
    def source_vocab(self) -> int:
        return SPECIALS + (256 if self.kind == "bytes" else len(self.token_ids))


class Speller(nn.Module):
    def __init__(self, config: SpellerConfig):
        super().__init__()
        self.config = config
        d = config.d_model
        self.source_embed = nn.Embedding(config.source_vocab, d, padding_idx=PAD)
        self.target_embed = nn.Embedding(SPECIALS + len(config.chars), d, padding_idx=PAD)
        self.source_position = nn.Embedding(config.max_source, d)
        self.target_position = nn.Embedding(config.max_target + 1, d)
        self.transformer = nn.Transformer(d, config.heads, config.layers, config.layers, config.ff, dropout=0.1,
                                          batch_first=True)
        self.output = nn.Linear(d, SPECIALS + len(config.chars))
        self._char_index = {char: SPECIALS + i for i, char in enumerate(config.chars)}
        self._token_index = {token: SPECIALS + i for i, token in enumerate(config.token_ids)}

    # ---------- encoding ----------
    def encode_source(self, word: str, tokenizer=None) -> list[int]:
        if self.config.kind == "bytes":
            ids = [SPECIALS + b for b in word.encode("utf-8")]
        else:
            ids = [self._token_index.get(t, UNK) for t in tokenizer(word, add_special_tokens=False)["input_ids"]]
        return ids[: self.config.max_source]

    def encode_target(self, word: str) -> list[int]:
        return [self._char_index.get(char, UNK) for char in word][: self.config.max_target - 1] + [EOS]

    def decode_target(self, ids: list[int]) -> str:
        chars = []
        for i in ids:
            if i == EOS:
                break
            chars.append(self.config.chars[i - SPECIALS] if i >= SPECIALS else "�")
        return "".join(chars)

    # ---------- model ----------
    def forward(self, source: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
        source_pad, target_pad = source == PAD, target_in == PAD
        src = self.source_embed(source) * math.sqrt(self.config.d_model) + \
            self.source_position(torch.arange(source.shape[1], device=source.device))
        tgt = self.target_embed(target_in) * math.sqrt(self.config.d_model) + \
            self.target_position(torch.arange(target_in.shape[1], device=source.device))
        causal = nn.Transformer.generate_square_subsequent_mask(target_in.shape[1], device=source.device)
        hidden = self.transformer(src, tgt, tgt_mask=causal, src_key_padding_mask=source_pad,
                                  tgt_key_padding_mask=target_pad, memory_key_padding_mask=source_pad,
                                  tgt_is_causal=True)
        return self.output(hidden)

    @torch.inference_mode()
    def spell(self, words: list[str], tokenizer=None) -> list[str]:
        """Greedy decoding, batched."""
        self.eval()
        sources = [self.encode_source(w, tokenizer) or [UNK] for w in words]
        width = max(len(s) for s in sources)
        source = torch.tensor([s + [PAD] * (width - len(s)) for s in sources])
        target = torch.full((len(words), 1), BOS)
        finished = torch.zeros(len(words), dtype=torch.bool)
        for _ in range(self.config.max_target):
            logits = self.forward(source, target)[:, -1]
            logits[:, [PAD, BOS, UNK]] = -1e9
            nxt = logits.argmax(-1)
            nxt[finished] = PAD
            target = torch.cat([target, nxt[:, None]], dim=1)
            finished |= nxt == EOS
            if finished.all():
                break
        return [self.decode_target(row[1:].tolist()) for row in target]

    # ---------- files ----------
    def save(self, name: str, directory: Path = WEIGHTS_DIR) -> Path:
        from safetensors.torch import save_file

        directory.mkdir(parents=True, exist_ok=True)
        # float16 on disk keeps each model under 5 MB; it is cast back to float32 on load.
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


def shipped(name: str) -> bool:
    return (WEIGHTS_DIR / f"{name}.safetensors").exists() and (WEIGHTS_DIR / f"{name}.json").exists()
