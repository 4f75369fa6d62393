start-greeting = سلام { $name }! من به گروه‌های یادگیری ماشین کمک می‌کنم مقاله‌هایی را که درباره‌شان بحث می‌کنند، روی مدل‌های محلیِ کوانتیزه‌شده <b>اجرا</b> کنند، و خلاصهٔ مقاله‌های تازه را به زبان خودتان می‌فرستم.
    برای دیدن کارهایی که این‌جا از من برمی‌آید، /help را بزنید.
help-header = <b>فرمان‌ها</b>
help-admin-header = <b>فرمان‌های مدیر</b>
help-footer = زبان: /lang · داده‌های شما: /history، /export، /forget
cmd-start = شروع
cmd-help = کارهایی که در این گفت‌وگو انجام می‌دهم
cmd-lang = انتخاب زبان: /lang fa
cmd-history = درخواست‌های اخیر شما: /history 20
cmd-export = دریافت کل تاریخچه به‌صورت JSON
cmd-forget = پاک کردن همهٔ داده‌هایی که از شما نگه می‌دارم
cmd-stats = آمار استفاده
lang-choose = یک زبان انتخاب کنید:
lang-set = زبان تنظیم شد: { $language }.
lang-unknown = زبان «{ $code }» را بلد نیستم. زبان‌های موجود: { $available }.
history-empty = هنوز درخواستی ندارید. /help را امتحان کنید.
history-header = <b>درخواست‌های شما</b> ({ $from }–{ $to } از { $total })
history-bad-number = تعداد را یک عدد صحیح بین ۱ و { $max } بدهید، مثلاً /history 10.
status-ok = ✅
status-error = ⚠️ خطا
status-rejected = ⛔ رد شد
btn-prev = جدیدتر ▶
btn-next = ◀ قدیمی‌تر
export-caption = تاریخچهٔ شما: { $count } درخواست.
export-empty = هنوز چیزی برای خروجی گرفتن نیست.
forget-confirm = <b>همهٔ</b> داده‌هایی که از شما نگه می‌دارم ({ $count } درخواست) پاک شود؟ این کار برگشت‌پذیر نیست.
btn-forget-yes = بله، پاک کن
btn-cancel = انصراف
forget-done = انجام شد: داده‌های شما پاک شد ({ $count } درخواست).
forget-cancelled = چیزی پاک نشد.
stats-text = <b>آمار</b>
    کاربران: { $users } · گفت‌وگوها: { $chats }
    درخواست‌ها: { $requests } · خطاها: { $errors } · ردشده: { $rejected }
stats-by-command = <b>به تفکیک فرمان</b> (درخواست / خطا)
admin-only = این فرمان فقط برای مدیران ربات است.
unknown-command = فرمان /{ $command } را نمی‌شناسم. /help را ببینید.
private-chatter = من به فرمان‌ها پاسخ می‌دهم. فهرستشان در /help است.
error-apology = متأسفم، مشکلی در سمت من پیش آمد. ثبت شد؛ لطفاً بعداً دوباره امتحان کنید.
quota-wait = درخواست‌ها زیاد است. { $seconds } ثانیهٔ دیگر دوباره امتحان کنید.
stale-button = این دکمه منقضی شده است.
not-your-button = این دکمه برای شما نیست.
text-too-long = خیلی طولانی است: حداکثر { $limit } نویسه.
model-err-limits = این درخواست بیش از حدی که این ربات اجازه می‌دهد از مدل می‌خواهد ({ $what } = { $value }، حداکثر { $limit }). مدیر ربات می‌تواند محدودیت‌ها را تغییر دهد.
# --- groups: permissions, /cancel, private data (issue 12) ---
refused-bot-admin = /{ $command } فقط برای مدیران ربات است.
refused-chat-admin = اینجا فقط مدیران گروه می‌توانند از /{ $command } استفاده کنند.
lang-admins-only = زبان گروه را فقط مدیران آن می‌توانند تغییر دهند.
help-rule-chat-admin = مدیران گروه
help-rule-bot-admin = مدیران ربات
mention-hint = من به فرمان‌ها پاسخ می‌دهم: /help را ببینید. در گروه بنویسید ‎/فرمان یا ‎/فرمان@{ $bot }.
cmd-cancel = توقف درخواست در حال اجرای شما
cancel-usage = /cancel درخواست شما را متوقف می‌کند؛ برای انتخاب یک درخواست، روی آن با /cancel پاسخ دهید؛ مدیران: /cancel all
cancel-done = توقف { $count } درخواست در حال اجرا.
cancel-nothing = هیچ درخواستی از شما اینجا در حال اجرا نیست.
cancel-not-yours = فقط نویسندهٔ درخواست یا مدیر گفتگو می‌تواند آن را لغو کند.
job-cancelled = ⏹ لغو شد.
status-cancelled = ⏹ لغو شد
history-header-chat = <b>درخواست‌های شما در این گفتگو</b> ({ $from }–{ $to } از { $total })
export-caption-all = هر آنچه دربارهٔ شما نگه می‌دارم: { $count } درخواست و بقیه، در یک فایل JSON.
export-sent-private = داده‌های شما را در پیام خصوصی برایتان فرستادم.
export-start-private = هنوز نمی‌توانم به شما پیام خصوصی بدهم: گفتگویی با من باز کنید و «شروع» را بزنید تا داده‌ها را آنجا بفرستم.
btn-open-private = باز کردن گفتگوی خصوصی
forget-confirm-all = <b>همه</b> چیزی که دربارهٔ شما نگه می‌دارم پاک شود ({ $count } درخواست، نتایج، تصاویر، رأی‌ها، ارسال‌ها و اشتراک‌هایی که ساخته‌اید)؟ آنچه به گروه‌ها تعلق دارد می‌ماند، بدون نام شما. این کار برگشت‌پذیر نیست.

## input parsing (bot/parsing.py) and the durable inbox (bot/transports/inbox.py)
input-not-a-number = «{ $value }» عدد نیست: از رقم‌های 0 تا 9 استفاده کنید، از { $min } تا { $max }.
input-out-of-range = { $value } خارج از محدوده است: عددی از { $min } تا { $max } وارد کنید.
input-bad-id = «{ $value }» شناسه نیست: عددی را که در فهرست آمده وارد کنید (رقم‌های 0 تا 9).
input-bad-time = «{ $value }» زمان نیست: از قالب HH:MM (۲۴ ساعته) استفاده کنید، مثلاً 09:00.
input-bad-weekday = «{ $value }» روز هفته نیست: از mon … sun یا 1 … 7 استفاده کنید.
input-bad-timezone = منطقهٔ زمانی ناشناخته «{ $value }»: نامی مانند Asia/Tehran، Europe/Moscow، Asia/Jerusalem یا UTC به کار ببرید.
input-stale-button = این دکمه قدیمی است؛ فرمان را دوباره اجرا کنید.
job-interrupted = ⚠️ اجرای { $command } شما با راه‌اندازی دوبارهٔ ربات قطع شد و تمام نشد. لطفاً دوباره اجرا کنید.
btn-digest-unsubscribe = 🔕 لغو اشتراک
digest-vote-thanks = سپاس! مقالهٔ { $paper }: 👍 { $up } · 👎 { $down }
digest-unsubscribed = این گفتگو دیگر این خلاصه را دریافت نمی‌کند.
digest-unsubscribe-admins = فقط مدیران گروه می‌توانند اشتراک آن را لغو کنند.
sources-votes = <b>رأی خوانندگان</b> (👍 / 👎)
