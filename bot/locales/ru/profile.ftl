like-usage = <b>/like</b> и arXiv id или ссылка, например <code>/like 2408.06518</code>; или пришлите файлом BibTeX или список arXiv id, чтобы импортировать список чтения.
like-err-bad-ref = Укажите один arXiv id или ссылку, например 2408.06518 или https://arxiv.org/abs/2408.06518.
reading-list-usage = Пришлите файл .bib или текстовый файл с arXiv id или ссылками (по одной или несколько в строке), до 1 МБ.
reading-list-err-too-large = Файл слишком большой для списка чтения (не больше 1 МБ).
reading-list-err-not-text = Это не текстовый файл: пришлите BibTeX или простой список arXiv id.
reading-list-err-empty = В файле не нашлось ни одного arXiv id.
