"""Probe suites: JSONL, one probe a line: {"id", "category", "language", "concept", "control", "test"}."""
import json
from dataclasses import asdict, dataclass
from pathlib import Path

LANGUAGES = ("en", "ru", "fa", "he")
FIELDS = ("id", "category", "language", "concept", "control", "test")
DEFAULT_SUITE = Path(__file__).with_name("suites") / "default.jsonl"


@dataclass(frozen=True)
class LeakProbe:
    id: str
    category: str
    language: str
    concept: str
    control: str
    test: str

    def to_json(self) -> dict:
        return asdict(self)


class SuiteError(ValueError):
    """Every problem in a suite file, each with its line number."""

    def __init__(self, path: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems[:20]) + (" …" if len(problems) > 20 else ""))


def validate(record: object, line: int) -> list[str]:
    if not isinstance(record, dict):
        return [f"line {line}: not a JSON object"]
    problems = []
    missing = [field for field in FIELDS if not isinstance(record.get(field), str) or not record[field].strip()]
    if missing:
        problems.append(f"line {line}: missing or empty field(s) {', '.join(missing)}")
        return problems
    if record["language"] not in LANGUAGES:
        problems.append(f"line {line}: language {record['language']!r} is not one of {', '.join(LANGUAGES)}")
    if record["concept"] not in record["test"]:
        problems.append(f"line {line}: the concept {record['concept']!r} does not occur in the test prompt")
    if record["concept"] in record["control"]:
        problems.append(f"line {line}: the concept {record['concept']!r} already occurs in the control prompt")
    if record["test"].strip() == record["control"].strip():
        problems.append(f"line {line}: the test prompt equals the control prompt")
    return problems


def load_suite(path: str | Path = DEFAULT_SUITE) -> list[LeakProbe]:
    """Load and validate a suite; raises SuiteError listing every bad line."""
    probes, problems, seen = [], [], set()
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as error:
                problems.append(f"line {number}: invalid JSON ({error.msg})")
                continue
            found = validate(record, number)
            if not found and record["id"] in seen:
                found = [f"line {number}: duplicate id {record['id']!r}"]
            if found:
                problems.extend(found)
                continue
            seen.add(record["id"])
            probes.append(LeakProbe(**{field: record[field].strip() if field != "test" else record[field]
                                       for field in FIELDS}))
    if problems:
        raise SuiteError(str(path), problems)
    if not probes:
        raise SuiteError(str(path), ["no probes"])
    return probes
