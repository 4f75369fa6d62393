like-usage = <b>/like</b> עם מזהה או קישור של arXiv, למשל <code>/like 2408.06518</code>; או שלחו קובץ BibTeX או רשימת מזהי arXiv כקובץ כדי לייבא רשימת קריאה.
like-err-bad-ref = תנו מזהה או קישור אחד של arXiv, למשל 2408.06518 או https://arxiv.org/abs/2408.06518.
reading-list-usage = שלחו קובץ ‎.bib או קובץ טקסט עם מזהים או קישורים של arXiv (אחד או יותר בכל שורה), עד 1 MB.
reading-list-err-too-large = הקובץ גדול מדי לרשימת קריאה (עד 1 MB).
reading-list-err-not-text = זה אינו קובץ טקסט: שלחו BibTeX או רשימה פשוטה של מזהי arXiv.
reading-list-err-empty = לא נמצאו מזהי arXiv בקובץ.
