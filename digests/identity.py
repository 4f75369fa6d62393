"""Which paper a post is about: arXiv id (new and old style, versions dropped), DOI, or a normalized title."""
import re
import unicodedata

ARXIV_NEW = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\d])")
ARXIV_OLD = re.compile(r"\b([a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?\b")
ARXIV_CONTEXT = re.compile(r"arxiv(?:\.org/(?:abs|pdf|html)/|:\s*)", re.IGNORECASE)
DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+[^\s\"<>.,;)\]])", re.IGNORECASE)


def arxiv_ids(text: str) -> list[str]:
    """arXiv ids mentioned in the text. New-style ids (2408.06518) count anywhere; old-style (hep-th/9901001)
    only after 'arXiv:' or in an arxiv.org URL, where they cannot be a file path."""
    found = [m.group(1) for m in ARXIV_NEW.finditer(text)]
    for context in ARXIV_CONTEXT.finditer(text):
        match = ARXIV_OLD.match(text, context.end())
        if match:
            found.append(match.group(1))
    return list(dict.fromkeys(found))


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
