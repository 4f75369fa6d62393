"""Few-shot letter-by-letter spelling with the embedded LLMs (WikiSpell's target format), and what they see."""
from typing import Any

from models.spelling.words import spelled, unspell

FEW_SHOT = {
    "en": ["cat", "house", "water", "green"],
    "ru": ["кот", "дом", "вода", "зелёный"],
    "fa": ["گربه", "خانه", "آب", "سبز"],
    "he": ["חתול", "בית", "מים", "ירוק"],
}
INSTRUCTION = "Spell each word letter by letter, separated by spaces."


def few_shot_prompt(word: str, language: str) -> str:
    lines = [INSTRUCTION]
    for example in FEW_SHOT[language]:
        lines += [f"Word: {example}", f"Spelling: {spelled(example)}"]
    lines += [f"Word: {word}", "Spelling:"]
    return "\n".join(lines)


async def llm_spell(engine: Any, words: list[str], language: str) -> list[str]:
    """One greedy generation per word, batched by the engine; the answer's spaces are removed."""
    await engine.ready()
    max_tokens = min(engine.settings.engine_max_new_tokens, 64) if hasattr(engine, "settings") else 64
    prompts = [few_shot_prompt(word, language) for word in words]
    outputs = await engine.generate(prompts, n=1, temperature=0.0, max_new_tokens=max_tokens, stop=["\n"])
    return [unspell(out[0].strip()) for out in outputs]


def byte_view(word: str) -> list[str]:
    """What a byte-level model sees: UTF-8 bytes, grouped by character."""
    return [" ".join(f"{b:02X}" for b in char.encode("utf-8")) for char in word]
