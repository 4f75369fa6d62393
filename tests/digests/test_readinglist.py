"""Reading-list files (BibTeX, plain lists of arXiv ids or URLs) and the reference of /like."""
import pytest

from digests.readinglist import MAX_ENTRIES, ReadingListError, parse_paper_ref, parse_reading_list

BIB = r"""
@comment{exported by a reference manager, arXiv:9999.99999 is not an entry}
@article{gonen2024yellow,
  title = {Does Liking Yellow Imply Driving a School Bus? {Semantic} Leakage in Language Models},
  author = {Gonen, Hila and others},
  journal = {arXiv preprint arXiv:2408.06518},
  year = {2024}
}
@misc{liu2023character,
  title={Character-Aware Models Improve Visual Text Rendering},
  eprint={2212.10562v3}, archivePrefix={arXiv}, primaryClass={cs.CV},
}
@inproceedings{doi2025,
  title = "A paper with an arXiv DOI",
  doi = "10.48550/arXiv.2501.01234",
}
@book{knuth1984, title={The {\TeX}book}, publisher={Addison-Wesley}, year={1984}}
@online{old, url = {https://arxiv.org/abs/hep-th/9901001v2}}
"""


def test_bibtex_entries_give_one_id_each():
    parsed = parse_reading_list(BIB.encode(), "library.bib")
    assert parsed.ids == ["2408.06518", "2212.10562", "2501.01234", "hep-th/9901001"]
    assert parsed.skipped == 1 and not parsed.truncated  # the TeXbook has no arXiv id; @comment is no entry


def test_plain_lists_with_urls_comments_and_a_bom():
    text = ("\ufeff# my list\n2408.06518\nhttps://arxiv.org/pdf/2212.10562v2 and arXiv:2501.01234\n"
            "a line about nothing\n\n2408.06518v3\n")
    parsed = parse_reading_list(text.encode("utf-8"), "list.txt")
    assert parsed.ids == ["2408.06518", "2212.10562", "2501.01234"] and parsed.skipped == 1
    latin = parse_reading_list("Übersicht: 2408.06518\n".encode("latin-1"), "alt.txt")
    assert latin.ids == ["2408.06518"]


@pytest.mark.parametrize("data, code", [(b"\x00\x01binary" * 10, "not-text"), (b"x" * 1_000_001, "too-large"),
                                        (b"no ids here\nnor here\n", "empty"), (b"", "empty")])
def test_bad_files_get_a_reason(data, code):
    with pytest.raises(ReadingListError) as raised:
        parse_reading_list(data, "f.txt")
    assert raised.value.code == code


def test_long_lists_are_cut():
    ids = "\n".join(f"2401.{n:05d}" for n in range(MAX_ENTRIES + 10))
    parsed = parse_reading_list(ids.encode(), "ids.txt")
    assert len(parsed.ids) == MAX_ENTRIES and parsed.truncated


@pytest.mark.parametrize("text, expected", [
    ("2408.06518", "2408.06518"), ("https://arxiv.org/abs/2408.06518v2", "2408.06518"),
    ("arxiv.org/pdf/2408.06518", "2408.06518"), ("arXiv:hep-th/9901001", "hep-th/9901001"),
    ("10.48550/arXiv.2408.06518", "2408.06518"), ("", None), (None, None), ("yellow school bus", None),
    ("2408.06518 2212.10562", None),  # two papers: which one?
])
def test_like_reference(text, expected):
    assert parse_paper_ref(text) == expected
