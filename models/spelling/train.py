"""`python -m models.spelling train`: trains `char-aware` (bytes) and `char-blind` (Gemma tokens) on the same
pairs with fixed seeds and writes their weights into the package."""
import logging
import random
import time

import torch
from torch import nn

from models.spelling.seq2seq import BOS, PAD, Speller, SpellerConfig
from models.spelling.words import LANGUAGES, make_split, ranked_words

log = logging.getLogger(__name__)


def gemma_tokenizer_and_embeddings(with_embeddings: bool = True):
    """Gemma's tokenizer and input embedding matrix from the converted safetensors cache."""
    from safetensors import safe_open
    from transformers import AutoTokenizer

    from models.config import ModelSettings
    from models.loading import converted_dir
    from models.registry import resolve

    settings = ModelSettings()
    directory = converted_dir(resolve("gemma-3-270m", settings), settings)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    if not with_embeddings:
        return tokenizer, None
    for path in directory.glob("*.safetensors"):
        with safe_open(path, "pt") as handle:
            for key in handle.keys():
                if key.endswith("embed_tokens.weight"):
                    return tokenizer, handle.get_tensor(key)
    raise RuntimeError("no embed_tokens.weight in the converted Gemma weights")


def _batches(pairs, model, tokenizer, batch_size, rng):
    order = list(range(len(pairs)))
    rng.shuffle(order)
    for start in range(0, len(order), batch_size):
        chunk = [pairs[i] for i in order[start:start + batch_size]]
        sources = [model.encode_source(word, tokenizer) or [3] for word, _ in chunk]
        targets = [model.encode_target(word) for word, _ in chunk]
        sw, tw = max(map(len, sources)), max(map(len, targets))
        source = torch.tensor([s + [PAD] * (sw - len(s)) for s in sources])
        target = torch.tensor([t + [PAD] * (tw - len(t)) for t in targets])
        target_in = torch.cat([torch.full((len(chunk), 1), BOS), target[:, :-1]], dim=1)
        target_in[target_in == 2] = PAD  # no EOS fed back in
        yield source, target_in, target


def train_model(model: Speller, pairs, tokenizer, *, epochs: int, seed: int, batch_size: int = 128,
                lr: float = 2e-3) -> Speller:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * ((len(pairs) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.1)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.05)
    model.train()
    started = time.perf_counter()
    for epoch in range(epochs):
        total = 0.0
        for source, target_in, target in _batches(pairs, model, tokenizer, batch_size, rng):
            logits = model(source, target_in)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += loss.item()
        log.info("%s epoch %d loss %.3f (%.0f s)", model.config.kind, epoch + 1, total, time.perf_counter() - started)
    model.eval()
    return model


def alphabet() -> list[str]:
    chars = set()
    for language in LANGUAGES:
        for word in ranked_words(language):
            chars.update(word)
    return sorted(chars)


def train_all(*, epochs: int = 12, seed: int = 0, train_size: int = 6000,
              systems: tuple[str, ...] = ("char-aware", "char-blind")) -> dict[str, float]:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    split = make_split(train_size=train_size, seed=seed)
    tokenizer, gemma_embeddings = gemma_tokenizer_and_embeddings()
    chars = alphabet()
    # Every Gemma token that any listed word uses: test words' tokens get pretrained embeddings (as T5's vocabulary
    # did) but no spelling supervision.
    token_ids = sorted({t for language in LANGUAGES for word in ranked_words(language)
                        for t in tokenizer(word, add_special_tokens=False)["input_ids"]})
    seconds = {}
    for name, config in (("char-aware", SpellerConfig("bytes", chars)),
                         ("char-blind", SpellerConfig("tokens", chars, token_ids))):
        if name not in systems:
            continue
        # Every model starts from the same seed, so training one alone reproduces it exactly.
        torch.manual_seed(seed)
        model = Speller(config)
        if config.kind == "tokens":
            # Pretrained initialisation: Gemma's 640-d embeddings projected to d_model by a fixed random projection.
            generator = torch.Generator().manual_seed(seed)
            projection = torch.randn(gemma_embeddings.shape[1], config.d_model, generator=generator)
            projection /= projection.norm(dim=0, keepdim=True)
            rows = gemma_embeddings[token_ids].float() @ projection
            rows = rows / rows.std() * model.source_embed.weight.std()
            with torch.no_grad():
                model.source_embed.weight[4:] = rows
        started = time.perf_counter()
        train_model(model, split.train, tokenizer, epochs=epochs, seed=seed)
        seconds[name] = time.perf_counter() - started
        path = model.save(name)
        log.info("saved %s (%.1f MB) after %.0f s", path, path.stat().st_size / 2**20, seconds[name])
    return seconds
