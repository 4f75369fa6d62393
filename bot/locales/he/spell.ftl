cmd-spell = איך מודלים רואים מילה ומאייתים אותה (Liu ועמיתים, 2023)
cmd-spellbench = מדד האיות בארבע שפות
spell-usage = <b>/spell מילה</b>, למשל <code>/spell תות</code> או <code>/spell e.g.</code>
spell-title = 🔤 <b>{ $word }</b> · { $language } · שכיחות: { $band }
spell-sees = <b>מה המודלים רואים</b>
spell-tokens = { $count ->
    [one] טוקן אחד
   *[other] { $count } טוקנים
}
spell-spellings = <b>אות אחר אות</b>
spell-time = ⏱ { $seconds } שניות
spell-band-top1 = האחוז העליון (נפוצה מאוד)
spell-band-1-10 = 1–10% העליונים
spell-band-10-20 = 10–20% העליונים
spell-band-20-30 = 20–30% העליונים
spell-band-30-50 = 30–50% העליונים
spell-band-bottom50 = 50% התחתונים (נדירה)
spell-band-rare = לא בין 20,000 המילים השכיחות
spell-err-empty = כתבו מילה או סימן אחד: <code>/spell תות</code>
spell-err-several = מילה אחת בכל פעם, בבקשה (בלי רווחים).
spell-err-too-long = ארוך מדי: לכל היותר { $limit } תווים.
spell-err-nul = יש כאן תו NUL, ואי אפשר לאיית אותו.
spell-err-control = יש כאן תווי בקרה (כמו טאב או escape), ואי אפשר לאיית אותם.
spell-err-surrogate = יש כאן תו פגום (surrogate בודד של UTF-16), ואי אפשר לאיית אותו.
spell-err-busy = המודלים עסוקים: { $position } בקשות בתור. נסו שוב בעוד דקה.
spell-err-unknown-model = המודל { $name } לא מוכר. זמינים: { $names }.
spell-err-unavailable = המודל { $name } לא מותקן בבוט הזה.
spell-err-timeout = המודלים התעכבו יותר מדי. נסו שוב.
spell-err-prompt-too-long = הבקשה ארוכה מדי למודל.
spell-bench-progress = מדד האיות: { $done }/{ $total } הרצות…
spell-bench-done = <b>מדד האיות</b> · { $seconds } שניות
