cmd-subscribe = عضویت این گفتگو در خلاصهٔ مقاله‌ها
cmd-subscriptions = اشتراک‌های خلاصهٔ این گفتگو
cmd-unsubscribe = لغو یک خلاصه: /unsubscribe 3 (یا all)
cmd-digest = پیش‌نمایش خلاصهٔ بعدی همین حالا
cmd-submit = فرستادن یک مقاله (پیوند arXiv یا متن) برای خلاصه‌ها
cmd-sources = منابع خلاصه‌ها و وضعیتشان
subscribe-usage = <b>/subscribe موضوع‌ها lang=.. daily=HH:MM tz=..</b>، برای نمونه <code>/subscribe llm, semantic leakage lang=fa daily=09:00 tz=Asia/Tehran size=5</code> یا <code>/subscribe diffusion weekly=sat@18:30</code>. گزینه‌ها: lang=en|ru|fa|he، daily=HH:MM یا weekly=DAY@HH:MM، tz (پیش‌فرض UTC)، size=1..20، empty=note|silent, mode=topics|profile|both (رتبه‌بندی با واژه‌های موضوع، با 👍/👎 و فهرست مطالعهٔ گفتگو، یا هر دو؛ پیش‌فرض both).
submit-usage = <b>/submit</b> پیوند arXiv یا عنوان و متن مقاله، برای نمونه <code>/submit https://arxiv.org/abs/2408.06518</code>
digest-admins-only = فقط مدیران این گفتگو می‌توانند اشتراک‌های خلاصه را تغییر دهند.
subscribe-err-empty = بگویید خلاصه دربارهٔ چه باشد.
subscribe-err-no-topics = دست‌کم یک موضوع یا کلیدواژه لازم است.
subscribe-err-too-many-topics = حداکثر { $detail } موضوع.
subscribe-err-topic-too-long = این موضوع خیلی بلند است: { $detail }
subscribe-err-duplicate-option = گزینهٔ { $detail } دو بار آمده است.
subscribe-err-bad-language = زبان «{ $detail }» ناشناخته است: en، ru، fa یا he.
subscribe-err-bad-time = «{ $detail }» زمان نیست: به شکل HH:MM بنویسید، مثلاً 09:00.
subscribe-err-bad-weekday = «{ $detail }» روز هفته نیست: mon…sun، مثلاً weekly=sat@09:00.
subscribe-err-bad-timezone = منطقهٔ زمانی «{ $detail }» ناشناخته است: مثلاً Asia/Tehran یا UTC.
subscribe-err-bad-size = اندازه باید عددی از ۱ تا ۲۰ باشد، نه «{ $detail }».
subscribe-err-bad-empty = empty= فقط note یا silent می‌پذیرد، نه «{ $detail }».
subscribe-err-bad-mode = mode= فقط topics، profile یا both می‌پذیرد، نه «{ $detail }».
subscribe-err-unknown-option = گزینهٔ ناشناخته: { $detail }.
subscribe-err-too-many = این گفتگو همین حالا { $limit } اشتراک دارد؛ اول یکی را با /unsubscribe حذف کنید.
subscribe-done = ✅ اشتراک ثبت شد. خلاصه در زمان زیر می‌رسد؛ /digest همین حالا پیش‌نمایشش را نشان می‌دهد.
subscriptions-none = این گفتگو هیچ اشتراک خلاصه‌ای ندارد.
subscriptions-title = <b>اشتراک‌های خلاصه</b> (#شناسه · موضوع‌ها · زبان · زمان‌بندی · اندازه · وقتی خالی است)
unsubscribe-none = این گفتگو هیچ اشتراک خلاصه‌ای ندارد.
unsubscribe-which = کدام؟ /unsubscribe را با شماره‌اش بفرستید، یا /unsubscribe all:
unsubscribe-done = { $count } اشتراک حذف شد.
digest-preview = 👀 <b>پیش‌نمایش</b> خلاصهٔ بعدی (چیزی برای مشترکان فرستاده نشد):
digest-preview-silent = چیز تازه‌ای نیست و این اشتراک وقتی خبری نیست چیزی نمی‌فرستد.
digest-title = 📰 <b>خلاصهٔ مقاله‌ها</b> · { $date } · { $topics } · { $count } مقاله
digest-empty = 📰 <b>خلاصهٔ مقاله‌ها</b> · { $date } · { $topics }: این بار مقالهٔ تازه‌ای نیست.
digest-no-announcement = 📰 امروز arXiv مقاله‌ای منتشر نکرد ({ $reason ->
    [holiday] تعطیلی
   *[weekend] آخر هفته
}): انتشار بعدی { $next } ({ $timezone }).
digest-original-language = [به زبان اصلی: { $language ->
    [ru] روسی
    [fa] فارسی
    [he] عبری
   *[en] انگلیسی
}]
digest-sources = منابع:
digest-why-abstract = خلاصه: چکیدهٔ خود مقاله (بی‌نیاز از مدل)
digest-why-post = خلاصه از یک پست ({ $detail }) گرفته شده است
digest-why-model = خلاصه را مدل { $model } نوشته است
digest-why-not-configured = بدون خلاصهٔ مدل: مدلی تنظیم نشده است ({ $detail })
digest-why-unavailable = بدون خلاصهٔ مدل: { $model } در دسترس نیست: { $detail ->
    [unknown-model] مدل ناشناخته
    [no-models] این فرایند مدلی ندارد
    [not-available] نصب نشده است
   *[other] { $detail }
}
digest-why-failed = بدون خلاصهٔ مدل: { $model } شکست خورد: { $detail ->
    [timeout] پایان مهلت
    [connection-failed] اتصال برقرار نشد
    [malformed-response] پاسخ خراب
   *[other] { $detail }
}
digest-why-wrong-language = بدون خلاصهٔ مدل: زبان نادرست — { $model } به زبان { $detail } پاسخ داد
digest-why-unusable = بدون خلاصهٔ مدل: پاسخ { $model } قابل استفاده نبود ({ $detail ->
    [empty] خالی
    [too-short] بسیار کوتاه
    [repetitive] تکراری
   *[other] { $detail }
})
sources-none = هنوز منبعی نیست: پس از نخستین دریافت یا وقتی کانالی چیزی منتشر کند پیدا می‌شوند.
sources-title = <b>منابع خلاصه‌ها</b>
sources-items = { $count } مورد
sources-last-ok = آخرین موفقیت { $when }
sources-failing = { $count } خطای پیاپی: { $error }
submit-stored = 📥 سپاس! مقالهٔ { $paper } برای خلاصه‌ها ذخیره شد.
submit-stored-text = 📥 سپاس! ذخیره شد — شناسهٔ arXiv یا DOI پیدا نشد، پس با عنوان و متن تطبیق داده می‌شود.
submit-duplicate = این را پیش‌تر فرستاده‌اند.
submit-too-long = خیلی بلند است: حداکثر { $limit } نویسه.
submit-bad-digits = شناسهٔ arXiv با رقم‌های لاتین 0 تا 9 نوشته می‌شود: { $value } شناسهٔ arXiv نیست.
