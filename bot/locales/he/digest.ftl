cmd-subscribe = מינוי הצ'אט לתקציר מאמרים
cmd-subscriptions = המינויים של הצ'אט הזה לתקצירים
cmd-unsubscribe = ביטול תקציר: /unsubscribe 3 (או all)
cmd-digest = תצוגה מקדימה של התקציר הבא עכשיו
cmd-submit = שליחת מאמר (קישור arXiv או טקסט) לתקצירים
cmd-sources = מקורות התקצירים ומצבם
subscribe-usage = <b>/subscribe נושאים lang=.. daily=HH:MM tz=..</b>, למשל <code>/subscribe llm, semantic leakage lang=he daily=09:00 tz=Asia/Jerusalem size=5</code> או <code>/subscribe diffusion weekly=sun@18:30</code>. אפשרויות: lang=en|ru|fa|he, daily=HH:MM או weekly=DAY@HH:MM, tz (ברירת מחדל UTC), size=1..20, empty=note|silent, mode=topics|profile|both (דירוג לפי מילות הנושא, לפי 👍/👎 ורשימת הקריאה של השיחה, או שניהם; ברירת מחדל both).
submit-usage = <b>/submit</b> קישור arXiv או כותרת וטקסט של מאמר, למשל <code>/submit https://arxiv.org/abs/2408.06518</code>
digest-admins-only = רק מנהלי הצ'אט יכולים לשנות את מינויי התקצירים שלו.
subscribe-err-empty = כתבו על מה יהיה התקציר.
subscribe-err-no-topics = צריך לפחות נושא או מילת מפתח אחת.
subscribe-err-too-many-topics = לכל היותר { $detail } נושאים.
subscribe-err-topic-too-long = הנושא ארוך מדי: { $detail }
subscribe-err-duplicate-option = האפשרות { $detail } מופיעה פעמיים.
subscribe-err-bad-language = שפה לא מוכרת „{ $detail }”: en, ru, fa או he.
subscribe-err-bad-time = „{ $detail }” אינו שעה: כתבו HH:MM, למשל 09:00.
subscribe-err-bad-weekday = „{ $detail }” אינו יום בשבוע: mon…sun, למשל weekly=sun@09:00.
subscribe-err-bad-timezone = אזור זמן לא מוכר „{ $detail }”: למשל Asia/Jerusalem או UTC.
subscribe-err-bad-size = הגודל חייב להיות מספר בין 1 ל־20, לא „{ $detail }”.
subscribe-err-bad-empty = empty= מקבל note או silent, לא „{ $detail }”.
subscribe-err-bad-mode = mode= מקבל topics, profile או both, לא „{ $detail }”.
subscribe-err-unknown-option = אפשרות לא מוכרת: { $detail }.
subscribe-err-too-many = לצ'אט הזה כבר יש { $limit } מינויים; הסירו אחד קודם עם /unsubscribe.
subscribe-done = ✅ המינוי נרשם. התקציר יגיע בשעה שלמטה; ‎/digest מציג תצוגה מקדימה עכשיו.
subscriptions-none = לצ'אט הזה אין מינויים לתקצירים.
subscriptions-title = <b>מינויים לתקצירים</b> (#מספר · נושאים · שפה · תזמון · גודל · כשאין חדש)
unsubscribe-none = לצ'אט הזה אין מינויים לתקצירים.
unsubscribe-which = איזה? שלחו ‎/unsubscribe עם המספר שלו, או ‎/unsubscribe all:
unsubscribe-done = הוסרו { $count } מינויים.
digest-preview = 👀 <b>תצוגה מקדימה</b> של התקציר הבא (לא נשלח דבר למנויים):
digest-preview-silent = אין שום דבר חדש, והמינוי הזה שותק כשאין חדש.
digest-title = 📰 <b>תקציר מאמרים</b> · { $date } · { $topics } · { $count } מאמרים
digest-empty = 📰 <b>תקציר מאמרים</b> · { $date } · { $topics }: אין מאמרים חדשים הפעם.
digest-no-announcement = 📰 היום לא היה פרסום ב-arXiv ({ $reason ->
    [holiday] חג
   *[weekend] סוף שבוע
}): הפרסום הבא ב-{ $next } ({ $timezone }).
digest-original-language = [בשפת המקור: { $language ->
    [ru] רוסית
    [fa] פרסית
    [he] עברית
   *[en] אנגלית
}]
digest-sources = מקורות:
digest-why-abstract = סיכום: התקציר של המאמר עצמו (אין צורך במודל)
digest-why-post = הסיכום נלקח מפוסט ({ $detail })
digest-why-model = הסיכום נכתב על ידי { $model }
digest-why-not-configured = אין סיכום של מודל: לא הוגדר מודל ({ $detail })
digest-why-unavailable = אין סיכום של מודל: { $model } אינו זמין: { $detail ->
    [unknown-model] מודל לא מוכר
    [no-models] אין מודלים בתהליך הזה
    [not-available] לא מותקן
   *[other] { $detail }
}
digest-why-failed = אין סיכום של מודל: { $model } נכשל: { $detail ->
    [timeout] תם הזמן
    [connection-failed] אין חיבור
    [malformed-response] תשובה פגומה
   *[other] { $detail }
}
digest-why-wrong-language = אין סיכום של מודל: שפה שגויה — { $model } ענה בשפה { $detail }
digest-why-unusable = אין סיכום של מודל: התשובה של { $model } אינה שמישה ({ $detail ->
    [empty] ריקה
    [too-short] קצרה מדי
    [repetitive] חוזרת על עצמה
   *[other] { $detail }
})
sources-none = עדיין אין מקורות: הם יופיעו אחרי ההורדה הראשונה או כשערוץ יפרסם משהו.
sources-title = <b>מקורות התקצירים</b>
sources-items = { $count } פריטים
sources-last-ok = הצלחה אחרונה { $when }
sources-failing = { $count } כשלונות ברצף: { $error }
submit-stored = 📥 תודה! המאמר { $paper } נשמר לתקצירים.
submit-stored-text = 📥 תודה! נשמר — לא נמצא מזהה arXiv או DOI, לכן ההתאמה תהיה לפי כותרת וטקסט.
submit-duplicate = זה כבר נשלח.
submit-too-long = ארוך מדי: לכל היותר { $limit } תווים.
submit-bad-digits = מזהה arXiv נכתב בספרות 0–9: { $value } אינו מזהה כזה.
