start-greeting = שלום { $name }! אני עוזר לקבוצות ML <b>להריץ</b> את המאמרים שהן מתווכחות עליהם, על מודלים מקומיים מכווצים, ושולח תקצירי מאמרים בשפה שלכם.
    שלחו /help כדי לראות מה אני יודע לעשות כאן.
help-header = <b>פקודות</b>
help-admin-header = <b>פקודות מנהל</b>
help-footer = שפה: /lang · הנתונים שלכם: /history, /export, /forget
cmd-start = התחלה
cmd-help = מה אני יודע לעשות בצ׳אט הזה
cmd-lang = בחירת שפה: /lang he
cmd-history = הבקשות האחרונות שלכם: /history 20
cmd-export = הורדת כל ההיסטוריה כ-JSON
cmd-forget = מחיקת כל מה שאני שומר עליכם
cmd-stats = סטטיסטיקת שימוש
lang-choose = בחרו שפה:
lang-set = השפה נקבעה: { $language }.
lang-unknown = אני לא מדבר „{ $code }”. זמינות: { $available }.
history-empty = עדיין אין לכם בקשות. נסו /help.
history-header = <b>הבקשות שלכם</b> ({ $from }–{ $to } מתוך { $total })
history-bad-number = תנו מספר שלם בין 1 ל-{ $max }, למשל /history 10.
status-ok = ✅
status-error = ⚠️ שגיאה
status-rejected = ⛔ נדחתה
btn-prev = חדשות יותר ▶
btn-next = ◀ ישנות יותר
export-caption = ההיסטוריה שלכם: { $count } בקשות.
export-empty = אין עדיין מה לייצא.
forget-confirm = למחוק <b>את כל</b> מה שאני שומר עליכם ({ $count } בקשות)? אי אפשר לבטל.
btn-forget-yes = כן, למחוק
btn-cancel = ביטול
forget-done = בוצע: הנתונים שלכם נמחקו ({ $count } בקשות).
forget-cancelled = שום דבר לא נמחק.
stats-text = <b>סטטיסטיקה</b>
    משתמשים: { $users } · צ׳אטים: { $chats }
    בקשות: { $requests } · שגיאות: { $errors } · נדחו: { $rejected }
stats-by-command = <b>לפי פקודה</b> (בקשות / שגיאות)
admin-only = הפקודה הזאת מיועדת למנהלי הבוט.
unknown-command = אני לא מכיר את /{ $command }. ראו /help.
private-chatter = אני עונה לפקודות. הרשימה ב-/help.
error-apology = סליחה, משהו השתבש אצלי. זה נרשם; נסו שוב מאוחר יותר.
quota-wait = יותר מדי בקשות. נסו שוב בעוד { $seconds } שניות.
stale-button = הכפתור הזה כבר לא בתוקף.
not-your-button = הכפתור הזה לא בשבילכם.
text-too-long = ארוך מדי: לכל היותר { $limit } תווים.
model-err-limits = הבקשה הזו דורשת מהמודל יותר ממה שהבוט מרשה ({ $what } = { $value }, לכל היותר { $limit }). מנהל הבוט יכול לשנות את המגבלות.
# --- groups: permissions, /cancel, private data (issue 12) ---
refused-bot-admin = ‏/{ $command } מיועדת למנהלי הבוט.
refused-chat-admin = כאן רק מנהלי הקבוצה יכולים להשתמש ב־/{ $command }.
lang-admins-only = רק מנהלי הקבוצה יכולים לשנות את השפה שלה.
help-rule-chat-admin = מנהלי הקבוצה
help-rule-bot-admin = מנהלי הבוט
mention-hint = אני עונה לפקודות: ראו /help. בקבוצה כתבו ‎/פקודה או ‎/פקודה@{ $bot }.
cmd-cancel = עצירת הבקשה שלכם שרצה עכשיו
cancel-usage = ‏/cancel עוצרת את הבקשה שלכם; השיבו ב־/cancel לבקשה כדי לבחור אותה; מנהלים: /cancel all
cancel-done = עוצר { $count } בקשות שרצות.
cancel-nothing = אין כאן בקשה שלכם שרצה.
cancel-not-yours = רק מי ששלח את הבקשה או מנהל הצ'אט יכולים לבטל אותה.
job-cancelled = ⏹ בוטל.
status-cancelled = ⏹ בוטלה
history-header-chat = <b>הבקשות שלכם בצ'אט הזה</b> ({ $from }–{ $to } מתוך { $total })
export-caption-all = כל מה שאני שומר עליכם: { $count } בקשות ועוד, בקובץ JSON אחד.
export-sent-private = שלחתי לכם את הנתונים בהודעה פרטית.
export-start-private = אני עדיין לא יכול לכתוב לכם בפרטי: פתחו איתי צ'אט ולחצו „התחל”, ואשלח את הנתונים לשם.
btn-open-private = פתיחת צ'אט פרטי
forget-confirm-all = למחוק <b>הכול</b> מה שאני שומר עליכם ({ $count } בקשות, תוצאות, תמונות, הצבעות, הגשות ומינויים שיצרתם)? מה ששייך לקבוצות נשאר, בלי השם שלכם. אי אפשר לבטל את זה.

## input parsing (bot/parsing.py) and the durable inbox (bot/transports/inbox.py)
input-not-a-number = „{ $value }” אינו מספר: השתמשו בספרות 0–9, מ־{ $min } עד { $max }.
input-out-of-range = { $value } מחוץ לטווח: הזינו מספר מ־{ $min } עד { $max }.
input-bad-id = „{ $value }” אינו מזהה: הזינו את המספר שמופיע ברשימה (ספרות 0–9).
input-bad-time = „{ $value }” אינו שעה: השתמשו בתבנית HH:MM (‏24 שעות), למשל 09:00.
input-bad-weekday = „{ $value }” אינו יום בשבוע: השתמשו ב־mon … sun או 1 … 7.
input-bad-timezone = אזור זמן לא מוכר „{ $value }”: השתמשו בשם כמו Asia/Jerusalem,‏ Europe/Moscow,‏ Asia/Tehran או UTC.
input-stale-button = הכפתור הזה כבר לא בתוקף; הריצו את הפקודה שוב.
job-interrupted = ⚠️ הפקודה { $command } שלכם נקטעה בגלל הפעלה מחדש של הבוט ולא הסתיימה. אנא הריצו אותה שוב.
btn-digest-unsubscribe = 🔕 ביטול מינוי
digest-vote-thanks = תודה! מאמר { $paper }: 👍 { $up } · 👎 { $down }
digest-unsubscribed = הצ'אט הזה כבר לא מקבל את התקציר הזה.
digest-unsubscribe-admins = רק מנהלי הקבוצה יכולים לבטל את המינוי שלה.
sources-votes = <b>הצבעות הקוראים</b> (👍 / 👎)
