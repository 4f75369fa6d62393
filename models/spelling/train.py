"""`python -m models.spelling train`: trains `char-aware` (bytes in, pointer out, on random strings of any
characters) and `char-blind` (Gemma tokens in, letters out, on a frequency-weighted stream of real words) with fixed
seeds, one process (one core) each, and writes their weights into the package."""
import itertools
import logging
import random
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from models.spelling.data import examples, frequency_list, natural_case
from models.spelling.seq2seq import IGNORE, Speller, SpellerConfig, pad_sources
from models.spelling.words import ALPHABET, LANGUAGES

log = logging.getLogger(__name__)
# char-blind's token table: the Gemma ids of its training stream, most used first, capped so that its float16
# weights stay under 20 MB (96 values × 2 bytes a row). Ids outside it read as UNK.
TOKEN_TABLE = 64_000
# name → (steps, batch size, d_model, feed-forward width, layers). char-aware learns to copy in about a thousand
# steps; char-blind needs more words to memorise the spellings of frequent ones, and reads one to four tokens, so it
# has one layer each side (docs/spelling.md states both budgets).
BUDGETS = {"char-aware": (1200, 128, 96, 384, 2), "char-blind": (9000, 256, 96, 256, 1)}
POLISH_STEPS = 200


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
    """Batches of similar length (less padding), in random order: (source, decoder input, labels)."""
    encoded = [(model.encode_source(word, tokenizer), model.encode_target(word)) for word in words]
    encoded.sort(key=lambda pair: (len(pair[0]), len(pair[1])))
    chunks = [encoded[i:i + batch_size] for i in range(0, len(encoded), batch_size)]
    rng.shuffle(chunks)
    for chunk in chunks:
        tw = max(len(t) for _, t in chunk)
        source = pad_sources([s for s, _ in chunk])
        labels = torch.tensor([t + [IGNORE] * (tw - len(t)) for _, t in chunk])
        yield source, model.feed(labels), labels


def train_model(model: Speller, tokenizer: Any, *, steps: int, seed: int, batch_size: int = 128,
                lr: float = 2e-3, chunk_batches: int = 40, checkpoint: str | None = None,
                hard: bool = False) -> Speller:
    """`steps` optimizer steps over a fresh stream of strings (the same stream for the same seed). `checkpoint`:
    a name to save the weights under every 500 steps (a long run can be evaluated while it goes on)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    sparse = [p for p in model.source_embed.parameters()] if model.source_embed.sparse else []
    dense = [p for p in model.parameters() if all(p is not q for q in sparse)]
    optimizers: list[torch.optim.Optimizer] = [torch.optim.AdamW(dense, lr=lr, weight_decay=0.01)]
    if sparse:
        # A token's row is updated only in the batches that hold it (a few dozen times for a frequent word):
        # a larger rate lets those few updates move it.
        optimizers.append(torch.optim.SparseAdam(sparse, lr=lr * 5))
    schedules = [torch.optim.lr_scheduler.OneCycleLR(o, max_lr=o.defaults["lr"], total_steps=steps, pct_start=0.05)
                 for o in optimizers]
    # No label smoothing: char-aware's pointer scores masked positions at -1e4, and char-blind must memorise.
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE)
    stream = examples(model.config.kind, seed, steps * batch_size, hard)
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
            for optimizer in optimizers:
                optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(dense, 1.0)
            for optimizer, schedule in zip(optimizers, schedules, strict=True):
                optimizer.step()
                schedule.step()
            total += loss.item()
            step += 1
            if step % 100 == 0:
                log.info("%s step %d/%d loss %.3f (%.0f s, CPU %.0f s)", model.config.kind, step, steps,
                         total / 100, time.perf_counter() - started, time.process_time())
                total = 0.0
            if checkpoint and step % 500 == 0 and step < steps:
                model.save(checkpoint)
                model.train()
    model.eval()
    return model


def token_table(tokenizer: Any, seed: int, sample: int = 400_000) -> list[int]:
    """The Gemma ids char-blind knows: those of its training stream, most used first (a sample of it, then every
    listed word in its case variants), up to TOKEN_TABLE. Nothing is taken from the evaluation lists."""
    counts: Counter[int] = Counter()
    words = list(examples("tokens", seed, sample))
    for start in range(0, len(words), 4096):
        for ids in tokenizer(words[start:start + 4096], add_special_tokens=False)["input_ids"]:
            counts.update(ids)
    rng = random.Random(seed)
    for language in LANGUAGES:
        listed = [natural_case(w, rng, language) for w in frequency_list(language)[0]]
        for ids in tokenizer(listed, add_special_tokens=False)["input_ids"]:
            counts.update({i: 0 for i in ids if i not in counts})  # after every sampled id
    return sorted(t for t, _ in counts.most_common(TOKEN_TABLE))


def blind_alphabet() -> list[str]:
    """Every character of char-blind's training words (and their case variants), after the four scripts' letters."""
    chars = dict.fromkeys(ALPHABET)
    for language in LANGUAGES:
        for word in frequency_list(language)[0]:
            chars.update(dict.fromkeys(word + word.upper() + word.title()))
    chars.update(dict.fromkeys("."))
    return [c for c in chars if len(c) == 1]


def train_one(name: str, steps: int | None, seed: int) -> tuple[float, float]:
    """Trains and saves one model; (wall seconds, CPU seconds). One thread: on a shared 2-core machine more threads
    only spin-wait (measured: 16× the CPU time per step under load)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    started, cpu = time.perf_counter(), time.process_time()
    tokenizer, gemma_embeddings = gemma_tokenizer_and_embeddings(with_embeddings=name == "char-blind")
    default_steps, batch_size, d_model, ff, layers = BUDGETS[name]
    steps = steps or default_steps
    config = SpellerConfig("bytes", [], d_model=d_model, ff=ff, layers=layers) if name == "char-aware" else \
        SpellerConfig("tokens", blind_alphabet(), token_table(tokenizer, seed), d_model=d_model, ff=ff,
                      layers=layers)
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
    log.info("%s: %d steps of %d strings, %.1f M parameters", name, steps, batch_size,
             sum(p.numel() for p in model.parameters()) / 1e6)
    train_model(model, tokenizer, steps=steps, seed=seed, batch_size=batch_size, checkpoint=name)
    if name == "char-aware":
        polish(model, seed)
    path = model.save(name)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    log.info("saved %s (%.1f MB) after %.0f s (CPU %.0f s)", path, path.stat().st_size / 2**20, seconds, cpu)
    return seconds, cpu


def polish(model: Speller, seed: int) -> Speller:
    """char-aware's second phase: POLISH_STEPS steps at a tenth of the rate on long strings dense in rare and
    4-byte code points, which the first phase's stream holds few of (they were cut short: `…` + EOS)."""
    model.train()
    return train_model(model, None, steps=POLISH_STEPS, seed=seed + 1, lr=2e-4, hard=True)


def train_all(*, steps: int | None = None, seed: int = 0,
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
