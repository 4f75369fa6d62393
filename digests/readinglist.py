"""Reading lists a chat sends as a file: BibTeX (an entry's arXiv id from `eprint`, an arxiv.org `url`, an arXiv
DOI 10.48550/arXiv.ID or `journal = {arXiv preprint arXiv:ID}`), or a plain list of arXiv ids or URLs, one or more
per line. Entries without an arXiv id are counted, not guessed. Also the single reference of `/like`."""
import re
from dataclasses import dataclass, field

from digests.identity import arxiv_ids

MAX_BYTES = 1_000_000
MAX_ENTRIES = 500
BIB_ENTRY = re.compile(r"@\s*(\w+)\s*[{(]", re.IGNORECASE)
BIB_SKIP = {"comment", "string", "preamble"}
ARXIV_DOI = re.compile(r"10\.48550/arxiv\.", re.IGNORECASE)


class ReadingListError(ValueError):
    """`code`: too-large | not-text | empty (a localized message each)."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


@dataclass
class ParsedList:
    ids: list[str] = field(default_factory=list)  # in file order, each once
    skipped: int = 0  # entries (BibTeX) or lines (plain) that name no arXiv id
    truncated: bool = False  # more than MAX_ENTRIES ids: the first ones are kept


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ReadingListError("too-large")
    if b"\x00" in data[:4096]:
        raise ReadingListError("not-text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # old .bib exports; ids are ASCII either way


def bib_entries(text: str) -> list[str]:
    """The bodies of the file's BibTeX entries (@comment/@string/@preamble left out), braces balanced."""
    out = []
    for match in BIB_ENTRY.finditer(text):
        if match.group(1).lower() in BIB_SKIP:
            continue
        depth, end = 1, match.end()
        while end < len(text) and depth:
            depth += {"{": 1, "(": 1, "}": -1, ")": -1}.get(text[end], 0)
            end += 1
        out.append(text[match.end():end])
    return out


def parse_reading_list(data: bytes, filename: str = "") -> ParsedList:
    text = decode(data)
    parsed = ParsedList()
    bib = filename.lower().endswith(".bib") or BIB_ENTRY.search(text) is not None
    if bib:
        chunks = bib_entries(text)
    else:
        chunks = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for chunk in chunks:
        found = arxiv_ids(ARXIV_DOI.sub("arXiv:", chunk))
        if not found:
            parsed.skipped += 1
        # A BibTeX entry is one paper (its first id; later ones are its cited versions or related links).
        for arxiv_id in found[:1] if bib else found:
            if arxiv_id not in parsed.ids:
                parsed.ids.append(arxiv_id)
    if len(parsed.ids) > MAX_ENTRIES:
        parsed.ids, parsed.truncated = parsed.ids[:MAX_ENTRIES], True
    if not parsed.ids:
        raise ReadingListError("empty")
    return parsed


def parse_paper_ref(text: str | None) -> str | None:
    """The arXiv id in `/like 2408.06518`, `/like https://arxiv.org/abs/2408.06518v2`, `arXiv:hep-th/9901001`."""
    found = arxiv_ids(ARXIV_DOI.sub("arXiv:", (text or "").strip()[:300]))
    return found[0] if len(found) == 1 else None
