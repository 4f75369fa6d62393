"""A chat user's own probe: `/leak <concept> | <prompt>`."""
import re
from dataclasses import dataclass

from models.leakage.probes import LANGUAGES, LeakProbe
from models.leakage.text import detect_script_language

# "He likes <concept>." in each language; Persian puts the verb last.
CONCEPT_SENTENCES = {
    "en": "He likes {concept}.",
    "ru": "Ему нравится {concept}.",
    "he": "הוא אוהב {concept}.",
    "fa": "او {concept} را دوست دارد.",
}


class UserProbeError(ValueError):
    """`code` names a localized message (leak-err-<code>): separator, empty-concept, empty-prompt, too-long,
    language."""

    def __init__(self, code: str, **details: object):
        self.code, self.details = code, details
        super().__init__(code)


@dataclass(frozen=True)
class UserProbeLimits:
    max_chars: int = 300


def is_sentence(concept: str) -> bool:
    return bool(re.search(r"[.!?…؟]\s*$", concept)) or len(concept.split()) >= 4


def parse_user_probe(arguments: str, limits: UserProbeLimits = UserProbeLimits()) -> LeakProbe:
    if "|" not in arguments:
        raise UserProbeError("separator")
    concept, _, prompt = (part.strip() for part in arguments.partition("|"))
    if not concept:
        raise UserProbeError("empty-concept")
    if not prompt:
        raise UserProbeError("empty-prompt")
    if len(concept) + len(prompt) > limits.max_chars:
        raise UserProbeError("too-long", limit=limits.max_chars)
    language = detect_script_language(prompt)
    if language not in LANGUAGES:
        raise UserProbeError("language", language=language)
    if is_sentence(concept):
        sentence = concept if re.search(r"[.!?…؟]\s*$", concept) else concept + "."
    else:
        sentence = CONCEPT_SENTENCES[language].format(concept=concept)
    return LeakProbe(id="user", category="user", language=language, concept=concept, control=prompt,
                     test=f"{sentence} {prompt}")
