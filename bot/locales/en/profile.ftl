like-usage = <b>/like</b> an arXiv id or link, e.g. <code>/like 2408.06518</code>; or send a BibTeX file or a list of arXiv ids as a file to import a reading list.
like-err-bad-ref = Give one arXiv id or link, e.g. 2408.06518 or https://arxiv.org/abs/2408.06518.
reading-list-usage = Send a .bib file or a text file with arXiv ids or links (one or more per line), up to 1 MB.
reading-list-err-too-large = This file is too large for a reading list (at most 1 MB).
reading-list-err-not-text = This file is not text: send BibTeX or a plain list of arXiv ids.
reading-list-err-empty = No arXiv ids found in this file.
