"""Continuations: strip the prompt, cut at the first sentence end (Latin, Cyrillic, Hebrew and Persian punctuation)."""
import re

# . ! ? … and the Arabic-script question mark (؟) and full stop (۔); a newline also ends a sentence.
_SENTENCE_END = re.compile(r"[.!?…؟۔](?=\s|$)|\n")
# A full stop after these (or after a single capital: "J. Smith") does not end the sentence.
_ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "т.е", "т.д", "т.п",
                  "г", "ул", "им", "проф", "др"}


def first_sentence(continuation: str, prompt: str = "") -> str:
    text = continuation
    if prompt and text.startswith(prompt):
        text = text[len(prompt):]
    text = text.lstrip()
    for match in _SENTENCE_END.finditer(text):
        if match.group() == ".":
            word = re.split(r"\s", text[:match.start()])[-1]
            if word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
                continue
        return text[:match.start() + (0 if match.group() == "\n" else 1)].strip()
    return text.strip()


def detect_script_language(text: str) -> str:
    """en / ru / he / fa by the script most letters are in (enough to pick a sentence template)."""
    counts = {"ru": 0, "he": 0, "fa": 0, "en": 0}
    for char in text:
        code = ord(char)
        if 0x0400 <= code <= 0x04FF:
            counts["ru"] += 1
        elif 0x0590 <= code <= 0x05FF:
            counts["he"] += 1
        elif 0x0600 <= code <= 0x06FF or 0xFB50 <= code <= 0xFEFF:
            counts["fa"] += 1
        elif char.isalpha():
            counts["en"] += 1
    best = max(counts, key=lambda language: counts[language])
    return best if counts[best] else "en"
