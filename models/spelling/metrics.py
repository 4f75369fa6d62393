"""Exact match and character error rate, and per-character marks for showing errors."""
from dataclasses import dataclass


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(predicted: str, target: str) -> float:
    return edit_distance(predicted, target) / max(len(target), 1)


@dataclass
class SpellingResult:
    system: str
    word: str
    predicted: str

    @property
    def correct(self) -> bool:
        return self.predicted == self.word

    @property
    def cer(self) -> float:
        return cer(self.predicted, self.word)

    def marks(self) -> list[tuple[str, bool]]:
        """Each predicted character with whether it matches the word at that position (for highlighting)."""
        return [(char, index < len(self.word) and self.word[index] == char)
                for index, char in enumerate(self.predicted)]
