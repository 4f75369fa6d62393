"""`python -m models.spelling train`: trains `char-aware` (bytes) and `char-blind` (Gemma tokens) on the same
stream of strings (data.py: random strings and real words of four scripts, every case) with fixed seeds, and writes
their weights into the package."""
import itertools
import logging
import random
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from models.spelling.data import examples
from models.spelling.evalsets import held_out
from models.spelling.seq2seq import BOS, EOS, PAD, Speller, SpellerConfig, pad_sources
from models.spelling.words import ALPHABET, LANGUAGES, ranked_words

log = logging.getLogger(__name__)
# char-blind's token table: the ids the training stream uses most, then those of the word lists in three cases,
# capped so the float16 weights stay under 8 MB (96 values × 2 bytes a row). Ids outside it read as UNK.
TOKEN_TABLE = 28_000
STEPS = 800  # per model; see docs/spelling.md for the time it takes


def gemma_tokenizer_and_embeddings(with_embeddings: bool = True) -> tuple[Any, torch.Tensor | None]:
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


def batches(words: list[str], model: Speller, tokenizer: Any, batch_size: int,
            rng: random.Random) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Batches of similar length (less padding), in random order."""
    encoded = [(model.encode_source(word, tokenizer), model.encode_target(word)) for word in words]
    encoded.sort(key=lambda pair: (len(pair[0]), len(pair[1])))
    chunks = [encoded[i:i + batch_size] for i in range(0, len(encoded), batch_size)]
    rng.shuffle(chunks)
    for chunk in chunks:
        tw = max(len(t) for _, t in chunk)
        source = pad_sources([s for s, _ in chunk])
        target = torch.tensor([t + [PAD] * (tw - len(t)) for _, t in chunk])
        target_in = torch.cat([torch.full((len(chunk), 1), BOS), target[:, :-1]], dim=1)
        target_in[target_in == EOS] = PAD  # no EOS fed back in
        yield source, target_in, target


def train_model(model: Speller, tokenizer: Any, *, steps: int, seed: int, batch_size: int = 128,
                lr: float = 2e-3, chunk_batches: int = 50) -> Speller:
    """`steps` optimizer steps over a fresh stream of strings (the same stream for the same seed)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.05)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.05)
    stream = examples(seed, steps * batch_size)
    model.train()
    started, step, total = time.perf_counter(), 0, 0.0
    while step < steps:
        words = list(itertools.islice(stream, chunk_batches * batch_size))
        if not words:
            break
        for source, target_in, target in batches(words, model, tokenizer, batch_size, rng):
            if step >= steps:
                break
            logits = model(source, target_in)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += loss.item()
            step += 1
            if step % 100 == 0:
                log.info("%s step %d/%d loss %.3f (%.0f s, CPU %.0f s)", model.config.kind, step, steps,
                         total / 100, time.perf_counter() - started, time.process_time())
                total = 0.0
    model.eval()
    return model


def token_table(tokenizer: Any, seed: int, sample: int = 100_000) -> list[int]:
    """The Gemma ids char-blind knows: those of the training stream by use, then those of the word lists (lower,
    Title, UPPER) and of the evaluation lists — those get pretrained embeddings but no spelling supervision, as
    T5's whole vocabulary did — up to TOKEN_TABLE."""
    counts: Counter[int] = Counter()
    for word in examples(seed, sample):
        counts.update(tokenizer(word, add_special_tokens=False)["input_ids"])
    listed: Counter[int] = Counter()
    for language in LANGUAGES:
        for word in ranked_words(language):
            for variant in {word, word.capitalize(), word.upper()}:
                listed.update(tokenizer(variant, add_special_tokens=False)["input_ids"])
        for words in held_out()[language].values():
            for word in words:
                listed.update(tokenizer(word, add_special_tokens=False)["input_ids"])
    ordered = [t for t, _ in counts.most_common()] + [t for t, _ in listed.most_common() if t not in counts]
    return sorted(ordered[:TOKEN_TABLE])


def train_one(name: str, steps: int, seed: int) -> tuple[float, float]:
    """Trains and saves one model; (wall seconds, CPU seconds). One thread: on a shared 2-core machine more threads
    only spin-wait (measured: 16× the CPU time per step under load)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    started, cpu = time.perf_counter(), time.process_time()
    tokenizer, gemma_embeddings = gemma_tokenizer_and_embeddings(with_embeddings=name == "char-blind")
    chars = list(ALPHABET)
    config = SpellerConfig("bytes", chars) if name == "char-aware" else \
        SpellerConfig("tokens", chars, token_table(tokenizer, seed))
    # Every model starts from the same seed, so training one alone reproduces it exactly.
    torch.manual_seed(seed)
    model = Speller(config)
    if config.kind == "tokens":
        assert gemma_embeddings is not None
        # Pretrained initialisation: Gemma's 640-d embeddings projected to d_model by a fixed random projection.
        generator = torch.Generator().manual_seed(seed)
        projection = torch.randn(gemma_embeddings.shape[1], config.d_model, generator=generator)
        projection /= projection.norm(dim=0, keepdim=True)
        rows = gemma_embeddings[config.token_ids].float() @ projection
        rows = rows / rows.std() * model.source_embed.weight.std()
        with torch.no_grad():
            model.source_embed.weight[4:] = rows
    train_model(model, tokenizer, steps=steps, seed=seed)
    path = model.save(name)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    log.info("saved %s (%.1f MB) after %.0f s (CPU %.0f s)", path, path.stat().st_size / 2**20, seconds, cpu)
    return seconds, cpu


def train_all(*, steps: int = STEPS, seed: int = 0,
              systems: tuple[str, ...] = ("char-aware", "char-blind")) -> dict[str, tuple[float, float]]:
    """Both models at once, one process (one core) each; name → (wall seconds, CPU seconds)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    names = [name for name in ("char-aware", "char-blind") if name in systems]
    if len(names) == 1:
        return {names[0]: train_one(names[0], steps, seed)}
    with ProcessPoolExecutor(len(names), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {name: pool.submit(train_one, name, steps, seed) for name in names}
        return {name: future.result() for name, future in futures.items()}
