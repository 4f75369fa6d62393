"""Probe suites in two formats (docs/leakage.md, "Probe suites"): this project's JSONL, one probe a line
(`{"id", "category", "language", "concept", "control", "test"}`), and the paper's format (Gonen et al. 2024),
CSV, TSV or JSONL, with one prompt per row (`prompt`, `concept`, `n_control`, …) or one pair per row (`concept`,
`control_prompt` + `test_prompt`); a missing language is read from the prompt's script.

Every probe is validated (fields present, a supported language, the concept in the test prompt and not in the
control one as a whole word or phrase, test ≠ control, ids unique). A bad line is skipped with one warning naming
`file:line` (`LoadedSuite.skipped`); `strict=True` rejects the file listing every problem (`SuiteError`)."""
import csv
import io
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from models.leakage.text import detect_script_language

log = logging.getLogger(__name__)

LANGUAGES = ("en", "ru", "fa", "he")
FIELDS = ("id", "category", "language", "concept", "control", "test")
DEFAULT_SUITE = Path(__file__).with_name("suites") / "default.jsonl"
PAPER_SUITE_EN = Path(__file__).with_name("suites") / "paper-format-en.csv"
_TRUE = {"1", "true", "yes", "y", "t"}


@dataclass(frozen=True)
class LeakProbe:
    id: str
    category: str
    language: str
    concept: str
    control: str
    test: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


class SuiteError(ValueError):
    """Every problem in a suite file, each with its line number."""

    def __init__(self, path: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems[:20]) + (" …" if len(problems) > 20 else ""))


@dataclass
class LoadedSuite:
    path: str
    format: str  # "jsonl" | "paper-rows" | "paper-pairs"
    probes: list[LeakProbe]
    skipped: list[str] = field(default_factory=list)  # "line N: why", one per skipped line


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


# A word character for the boundary test: letters, digits and marks (niqqud, harakat), so that a concept never
# "matches" part of a word. The Persian zero-width non-joiner is a morpheme boundary ("فیل‌ها" is فیل + plural).
_WORD = r"[\w\u0300-\u036f\u0591-\u05c7\u064b-\u065f\u0670]"
# Inflection a whole-word match still accepts, per language, at the phrase's edges: Hebrew proclitics written
# attached (ו ה ב כ ל מ ש: "בפריז", "הצהוב"), Russian case endings ("Париж" → "Париже", "жёлтый" → "жёлтого"),
# English plural/possessive ("elephant" → "elephants").
_HE_PREFIX = "(?:[\u05d5\u05d4\u05d1\u05db\u05dc\u05de\u05e9]{1,3})?"
_RU_ENDING = re.compile(r"(?:[аеёиоуыэюяйь]{1,2})$")
_SUFFIX = {"ru": "[а-яё]{0,3}", "en": "(?:'?s|es)?"}


def contains_word(text: str, phrase: str, language: str = "en") -> bool:
    """Whether `phrase` occurs in `text` as a whole word or phrase (case-insensitive, any script), allowing the
    inflection above at its edges — never as a piece of another word ("red" is not in "colored")."""
    words = _fold(phrase).split()
    if not words:
        return False
    last = words[-1]
    if language == "ru" and len(last) > 3:
        last = _RU_ENDING.sub("", last) or last  # the stem: "жёлтый" → "жёлт", then any short ending
    body = r"\s+".join([re.escape(word) for word in words[:-1]] + [re.escape(last)])
    prefix = _HE_PREFIX if language == "he" else ""
    suffix = _SUFFIX.get(language, "")
    return re.search(rf"(?<!{_WORD}){prefix}{body}{suffix}(?!{_WORD})", _fold(text)) is not None


def validate(record: object, line: int) -> list[str]:
    if not isinstance(record, dict):
        return [f"line {line}: not a JSON object"]
    problems = []
    missing = [name for name in FIELDS if not isinstance(record.get(name), str) or not record[name].strip()]
    if missing:
        return [f"line {line}: missing or empty field(s) {', '.join(missing)}"]
    if record["language"] not in LANGUAGES:
        problems.append(f"line {line}: language {record['language']!r} is not one of {', '.join(LANGUAGES)}")
    language = record["language"]
    if not contains_word(record["test"], record["concept"], language):
        problems.append(f"line {line}: the concept {record['concept']!r} does not occur in the test prompt")
    if contains_word(record["control"], record["concept"], language):
        problems.append(f"line {line}: the concept {record['concept']!r} already occurs in the control prompt")
    if record["test"].strip() == record["control"].strip():
        problems.append(f"line {line}: the test prompt equals the control prompt")
    return problems


# ---------- reading the formats into (line, record) ----------

def _rows(path: Path, text: str) -> tuple[str, list[tuple[int, object]]]:
    """(kind, [(line number, raw record or an error string)]); kind is "jsonl" or "table"."""
    if path.suffix.lower() in (".csv", ".tsv"):
        dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        rows: list[tuple[int, object]] = []
        for record in reader:
            if not any((value or "").strip() for value in record.values() if isinstance(value, str)):
                continue
            extra = record.pop(None, None)  # DictReader's key for surplus cells
            rows.append((reader.line_num, f"{len(extra)} cell(s) more than the header has" if extra else
                         {k.strip().lower(): (v or "") for k, v in record.items() if k}))
        return "table", rows
    rows = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            rows.append((number, json.loads(raw)))
        except json.JSONDecodeError as error:
            rows.append((number, f"invalid JSON ({error.msg})"))
    return "jsonl", rows


def _paper_kind(records: list[tuple[int, object]]) -> str | None:
    keys: set[str] = set()
    for _, record in records:
        if isinstance(record, dict):
            keys |= {str(k).lower() for k in record}
    if "prompt" in keys and ("n_control" in keys or "is_control_item" in keys):
        return "paper-rows"
    if "concept" in keys and ({"control_prompt", "test_prompt"} <= keys or
                              ({"control", "test"} <= keys and "id" not in keys)):
        return "paper-pairs"
    return None


def _text(record: dict[str, Any], *names: str) -> str:
    for name in names:
        value = record.get(name)
        if value is not None and str(value).strip() and str(value).strip().lower() not in ("nan", "none"):
            return str(value)
    return ""


def _language(record: dict[str, Any], *prompts: str) -> str:
    return _text(record, "language", "lang").strip() or detect_script_language(" ".join(prompts))


def _from_pairs(records: list[tuple[int, object]]) -> Iterator[tuple[int, object]]:
    for line, record in records:
        if not isinstance(record, dict):
            yield line, record
            continue
        record = {str(k).lower(): v for k, v in record.items()}
        control, test = _text(record, "control_prompt", "control"), _text(record, "test_prompt", "test")
        yield line, {"id": _text(record, "id").strip() or f"row-{line}",
                     "category": _text(record, "category").strip() or "uncategorized",
                     "language": _language(record, test), "concept": _text(record, "concept"),
                     "control": control, "test": test}


def _from_prompt_rows(records: list[tuple[int, object]]) -> Iterator[tuple[int, object]]:
    """Test rows name their control row by its 0-based index among the data rows (`n_control`)."""
    table = [(line, {str(k).lower(): v for k, v in r.items()} if isinstance(r, dict) else r) for line, r in records]
    for index, (line, record) in enumerate(table):
        if not isinstance(record, dict):
            yield line, record
            continue
        pointer = _text(record, "n_control").strip()
        is_control = _text(record, "is_control_item").strip().lower() in _TRUE
        if is_control or (not pointer and not _text(record, "concept").strip()):
            continue  # a control prompt: used through the test rows that point at it
        if not pointer:
            yield line, "a test row without n_control (the index of its control row)"
            continue
        try:
            target = int(float(pointer))
        except ValueError:
            yield line, f"n_control {pointer!r} is not a row index"
            continue
        if not 0 <= target < len(table) or target == index or not isinstance(table[target][1], dict):
            yield line, f"n_control {target} does not point at another row of the table"
            continue
        control = _text(table[target][1], "prompt")  # type: ignore[arg-type]
        test = _text(record, "prompt")
        yield line, {"id": _text(record, "id").strip() or f"row-{index}",
                     "category": _text(record, "category").strip() or "uncategorized",
                     "language": _language(record, test), "concept": _text(record, "concept"),
                     "control": control, "test": test}


def read_suite(path: str | Path = DEFAULT_SUITE, *, strict: bool = False) -> LoadedSuite:
    """Load a suite in either format. Lenient (default): bad lines are skipped, each with a warning; strict: any bad
    line raises SuiteError listing all of them. No valid probe at all always raises."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    kind, raw = _rows(path, text)
    paper = _paper_kind(raw)
    if paper == "paper-rows":
        records = list(_from_prompt_rows(raw))
    elif paper == "paper-pairs":
        records = list(_from_pairs(raw))
    elif kind == "table":
        raise SuiteError(str(path), ["the header names neither this project's fields (id, category, language, "
                                     "concept, control, test) nor the paper's (prompt, concept, n_control, or "
                                     "concept, control_prompt, test_prompt)"])
    else:
        records = raw
        paper = "jsonl"
    probes: list[LeakProbe] = []
    problems: list[str] = []
    seen: set[str] = set()
    for line, record in records:
        found = [f"line {line}: {record}"] if isinstance(record, str) else validate(record, line)
        if not found and record["id"] in seen:  # type: ignore[index]
            found = [f"line {line}: duplicate id {record['id']!r}"]  # type: ignore[index]
        if found:
            problems.extend(found)
            continue
        assert isinstance(record, dict)
        seen.add(record["id"])
        # The test prompt keeps its spacing: it ends with the control prompt, which the model continues.
        probes.append(LeakProbe(**{name: record[name].strip() if name != "test" else record[name]
                                   for name in FIELDS}))
    if problems and strict:
        raise SuiteError(str(path), problems)
    for problem in problems:
        log.warning("%s:%s", path, problem.removeprefix("line "))
    if not probes:
        raise SuiteError(str(path), problems + ["no probes"])
    return LoadedSuite(str(path), paper, probes, problems)


def load_suite(path: str | Path = DEFAULT_SUITE, *, strict: bool = False) -> list[LeakProbe]:
    """The suite's valid probes (see `read_suite`)."""
    return read_suite(path, strict=strict).probes
