"""char-blind's own tokenizer (shipped as weights/char-blind.tokenizer.json): a Unigram model whose vocabulary is every
word of char-blind's training stream, lower-cased, as one piece, plus subword pieces (a Unigram model trained on
those words) that only words outside the stream are cut into — as a large SentencePiece vocabulary makes frequent
words single tokens. The word's case (lower, Title, UPPER, mixed) is read separately, as a feature."""
from collections.abc import Iterable

from tokenizers import Tokenizer, models, trainers

CASES = ("lower", "title", "upper", "mixed")
UNKNOWN = "<unk>"
# Viterbi keeps a listed word whole: a word scores WORD_SCORE, every subword piece less than twice that, so no cut of
# a listed word into two or more pieces beats the word itself.
WORD_SCORE = -1.0
PIECE_FLOOR = -20.0


def case_of(word: str) -> int:
    """0 lower (and words without case), 1 Title, 2 UPPER, 3 anything else (`iPhone`, `McDonald`)."""
    lower = word.lower()
    if word == lower:
        return 0
    if word == word.upper():
        return 2
    return 1 if word == word[:1].upper() + lower[1:] else 3


def build(words: Iterable[str], pieces: int, alphabet: Iterable[str]) -> Tokenizer:
    """The tokenizer: every one of `words` (lower-cased) whole, then `pieces` subword pieces learnt from them (each
    word once, as a dictionary) and every character of `alphabet` in lower case, so any word can be cut."""
    listed = list(dict.fromkeys(w.lower() for w in words))
    initial = sorted({c.lower() for c in alphabet if len(c.lower()) == 1})
    subwords = Tokenizer(models.Unigram())
    subwords.train_from_iterator(listed, trainers.UnigramTrainer(
        vocab_size=pieces, special_tokens=[UNKNOWN], unk_token=UNKNOWN, initial_alphabet=initial,
        max_piece_length=8, show_progress=False))
    scores = _scores(subwords)  # piece → log probability, most probable first
    vocabulary: dict[str, float] = {UNKNOWN: 0.0}
    vocabulary.update(dict.fromkeys(listed, WORD_SCORE))
    for piece, score in scores.items():
        vocabulary.setdefault(piece, PIECE_FLOOR + min(0.0, score))
    for char in initial:
        vocabulary.setdefault(char, 2 * PIECE_FLOOR)
    return Tokenizer(models.Unigram(list(vocabulary.items()), unk_id=0, byte_fallback=False))


def _scores(tokenizer: Tokenizer) -> dict[str, float]:
    import json

    model = json.loads(tokenizer.to_str())["model"]
    return {piece: float(score) for piece, score in model["vocab"]}
