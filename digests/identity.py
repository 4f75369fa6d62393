"""Which paper a post is about: arXiv id (new and old style, versions dropped), DOI, or a normalized title."""
import re
import unicodedata

# [0-9], never \d: \d also matches Arabic-Indic and other digits (`arXiv:٢٤٠٨.٠٦٥١٨` is no arXiv id).
ARXIV_NEW = re.compile(r"(?<![0-9.])([0-9]{4}\.[0-9]{4,5})(?:v[0-9]+)?(?![0-9])")
ARXIV_OLD = re.compile(r"\b([a-z\-]+(?:\.[A-Z]{2})?/[0-9]{7})(?:v[0-9]+)?\b")
ARXIV_CONTEXT = re.compile(r"arxiv(?:\.org/(?:abs|pdf|html)/|:\s*)", re.IGNORECASE)
# What looks like an arXiv id written with other digits (any Unicode decimal digit), to refuse it with a reason.
ARXIV_LOOKALIKE = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?![\d])")
DOI = re.compile(r"\b(10\.[0-9]{4,9}/[^\s\"<>]+[^\s\"<>.,;)\]])", re.IGNORECASE)


def arxiv_ids(text: str) -> list[str]:
    """arXiv ids mentioned in the text. New-style ids (2408.06518) count anywhere; old-style (hep-th/9901001)
    only after 'arXiv:' or in an arxiv.org URL, where they cannot be a file path."""
    found = [m.group(1) for m in ARXIV_NEW.finditer(text)]
    for context in ARXIV_CONTEXT.finditer(text):
        match = ARXIV_OLD.match(text, context.end())
        if match:
            found.append(match.group(1))
    return list(dict.fromkeys(found))


def lookalike_arxiv_id(text: str) -> str | None:
    """The first arXiv-shaped id in the text written with digits other than ASCII (`٢٤٠٨.٠٦٥١٨`), else None."""
    for match in ARXIV_LOOKALIKE.finditer(text):
        if not match.group(1).isascii():
            return match.group(1)
    return None


def dois(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1).lower() for m in DOI.finditer(text) if "arxiv" not in m.group(1).lower()))


def normalize_title(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def paper_key(text: str, title: str | None = None) -> str | None:
    """A stable key: arxiv:ID, doi:DOI, or title:normalized (None when the post names no paper)."""
    ids = arxiv_ids(text)
    if ids:
        return f"arxiv:{ids[0]}"
    found = dois(text)
    if found:
        return f"doi:{found[0]}"
    if title and len(normalize_title(title)) >= 12:
        return f"title:{normalize_title(title)}"
    return None


URL = re.compile(r"https?://[^\s<>\"]+")


def links(text: str) -> list[str]:
    return list(dict.fromkeys(url.rstrip(".,;)") for url in URL.findall(text)))
