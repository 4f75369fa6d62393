"""`python -m models.spelling train`: trains `char-aware` (bytes in, pointer out, on random strings of any
characters) and `char-blind` (its own word and subword pieces in, letters out, on a frequency-weighted stream of real
words) with fixed seeds, one process (one core) each, and writes their weights (and char-blind's tokenizer) into the
package."""
import itertools
import logging
import random
import time
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from models.spelling.data import examples, frequency_list
from models.spelling.pieces import CASES
from models.spelling.seq2seq import IGNORE, SPECIALS, Speller, SpellerConfig, pad_sources
from models.spelling.words import ALPHABET, LANGUAGES

log = logging.getLogger(__name__)
# char-blind's subword pieces beyond its whole words (pieces.build): the cuts of words it never trained on.
SUBWORD_PIECES = 4000
# name → (steps, batch size, d_model, feed-forward width, layers). char-aware learns to copy in about a thousand
# steps; char-blind needs more words to memorise the spellings of frequent ones, and reads a case and one piece (a
# listed word) or a few, so it has one layer each side (docs/spelling.md states both budgets).
BUDGETS = {"char-aware": (1200, 128, 96, 384, 2), "char-blind": (6000, 256, 96, 256, 1)}
POLISH_STEPS = 200
# char-blind's word rows learn SPARSE_RATE times faster than the rest: a row moves only in the batches that hold its
# word (a few dozen for a frequent one).
SPARSE_RATE = 10


def gemma_tokenizer_and_embeddings() -> tuple[Any, torch.Tensor]:
    """Gemma's tokenizer and input embedding matrix from the converted safetensors cache."""
    from safetensors import safe_open
    from transformers import AutoTokenizer

    from models.config import ModelSettings
    from models.loading import converted_dir
    from models.registry import resolve

    settings = ModelSettings()
    directory = converted_dir(resolve("gemma-3-270m", settings), settings)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    for path in directory.glob("*.safetensors"):
        with safe_open(path, "pt") as handle:
            for key in handle.keys():
                if key.endswith("embed_tokens.weight"):
                    return tokenizer, handle.get_tensor(key)
    raise RuntimeError("no embed_tokens.weight in the converted Gemma weights")



def gemma_rows(words: list[str], d_model: int, seed: int) -> torch.Tensor:
    """A pretrained start for char-blind's whole words (as T5's vocabulary was pretrained): the mean of Gemma's
    640-d embedding rows of the word's Gemma pieces, projected to d_model by a fixed random projection."""
    tokenizer, embeddings = gemma_tokenizer_and_embeddings()
    generator = torch.Generator().manual_seed(seed)
    projection = torch.randn(embeddings.shape[1], d_model, generator=generator)
    projection /= projection.norm(dim=0, keepdim=True)
    ids = tokenizer(words, add_special_tokens=False)["input_ids"]
    rows = torch.stack([embeddings[piece_ids or [0]].float().mean(0) for piece_ids in ids]) @ projection
    return rows / rows.std()


def batches(words: list[str], model: Speller, batch_size: int,
            rng: random.Random) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Batches of similar length (less padding), in random order: (source, decoder input, labels)."""
    encoded = [(model.encode_source(word), model.encode_target(word)) for word in words]
    encoded.sort(key=lambda pair: (len(pair[0]), len(pair[1])))
    chunks = [encoded[i:i + batch_size] for i in range(0, len(encoded), batch_size)]
    rng.shuffle(chunks)
    for chunk in chunks:
        tw = max(len(t) for _, t in chunk)
        source = pad_sources([s for s, _ in chunk])
        labels = torch.tensor([t + [IGNORE] * (tw - len(t)) for _, t in chunk])
        yield source, model.feed(labels), labels


def train_model(model: Speller, *, steps: int, seed: int, batch_size: int = 128,
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
        optimizers.append(torch.optim.SparseAdam(sparse, lr=lr * SPARSE_RATE))
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
        for source, target_in, target in batches(words, model, batch_size, rng):
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


def blind_tokenizer() -> Any:
    """char-blind's tokenizer: every word its stream draws from (wordfreq's lists, not the evaluation lists) whole,
    SUBWORD_PIECES pieces for the rest."""
    from models.spelling.pieces import build

    return build(blind_words(), SUBWORD_PIECES, blind_alphabet())


def blind_words() -> list[str]:
    """The words of char-blind's stream, lower-cased, each once."""
    return list(dict.fromkeys(w.lower() for language in LANGUAGES for w in frequency_list(language)[0]))


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
    default_steps, batch_size, d_model, ff, layers = BUDGETS[name]
    steps = steps or default_steps
    tokenizer = blind_tokenizer() if name == "char-blind" else None
    config = SpellerConfig("bytes", [], d_model=d_model, ff=ff, layers=layers) if tokenizer is None else \
        SpellerConfig("tokens", blind_alphabet(), tokenizer.get_vocab_size(), d_model=d_model, ff=ff, layers=layers)
    # Every model starts from the same seed, so training one alone reproduces it exactly.
    torch.manual_seed(seed)
    model = Speller(config, tokenizer)
    if tokenizer is not None:
        # Whole words start from Gemma's rows; the subword pieces keep their random start (no stream word is cut
        # into them, so they are never trained: a word outside the stream reads as pieces the model cannot spell).
        listed = set(blind_words())
        words = [w for w in tokenizer.get_vocab() if w in listed]
        ids = torch.tensor([SPECIALS + len(CASES) + tokenizer.token_to_id(w) for w in words])
        with torch.no_grad():
            model.source_embed.weight[ids] = gemma_rows(words, d_model, seed) * model.source_embed.weight.std()
    log.info("%s: %d steps of %d strings, %.1f M parameters", name, steps, batch_size,
             sum(p.numel() for p in model.parameters()) / 1e6)
    train_model(model, steps=steps, seed=seed, batch_size=batch_size, checkpoint=name)
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
    return train_model(model, steps=POLISH_STEPS, seed=seed + 1, lr=2e-4, hard=True)


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
