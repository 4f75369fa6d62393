like-usage = <b>/like</b> با یک شناسه یا پیوند arXiv، مثلاً <code>/like 2408.06518</code>؛ یا برای وارد کردن فهرست مطالعه، یک فایل BibTeX یا فهرستی از شناسه‌های arXiv بفرستید.
like-err-bad-ref = یک شناسه یا پیوند arXiv بدهید، مثلاً 2408.06518 یا https://arxiv.org/abs/2408.06518.
reading-list-usage = یک فایل ‎.bib یا فایل متنی با شناسه‌ها یا پیوندهای arXiv (یک یا چند در هر خط) بفرستید، حداکثر ۱ مگابایت.
reading-list-err-too-large = این فایل برای فهرست مطالعه بیش از حد بزرگ است (حداکثر ۱ مگابایت).
reading-list-err-not-text = این فایل متنی نیست: BibTeX یا فهرست سادهٔ شناسه‌های arXiv بفرستید.
reading-list-err-empty = در این فایل هیچ شناسهٔ arXiv پیدا نشد.
