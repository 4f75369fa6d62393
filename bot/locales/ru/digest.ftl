cmd-subscribe = подписать чат на дайджест статей
cmd-subscriptions = подписки этого чата на дайджесты
cmd-unsubscribe = отключить дайджест: /unsubscribe 3 (или all)
cmd-digest = показать следующий дайджест прямо сейчас
cmd-submit = прислать статью (ссылку на arXiv или текст) в дайджесты
cmd-sources = источники дайджестов и их состояние
subscribe-usage = <b>/subscribe темы lang=.. daily=ЧЧ:ММ tz=..</b>, например <code>/subscribe llm, semantic leakage lang=ru daily=09:00 tz=Europe/Moscow size=5</code> или <code>/subscribe diffusion weekly=mon@18:30</code>. Параметры: lang=en|ru|fa|he, daily=ЧЧ:ММ или weekly=ДЕНЬ@ЧЧ:ММ, tz (по умолчанию UTC), size=1..20, empty=note|silent, mode=topics|profile|both (ранжировать по словам тем, по 👍/👎 и списку чтения чата или по обоим; по умолчанию both).
submit-usage = <b>/submit</b> ссылка на arXiv или название и текст статьи, например <code>/submit https://arxiv.org/abs/2408.06518</code>
digest-admins-only = Менять подписки этого чата могут только его администраторы.
subscribe-err-empty = Напишите, о чём должен быть дайджест.
subscribe-err-no-topics = Нужна хотя бы одна тема или ключевое слово.
subscribe-err-too-many-topics = Не больше { $detail } тем.
subscribe-err-topic-too-long = Слишком длинная тема: { $detail }
subscribe-err-duplicate-option = Параметр { $detail } указан дважды.
subscribe-err-bad-language = Неизвестный язык «{ $detail }»: используйте en, ru, fa или he.
subscribe-err-bad-time = «{ $detail }» — не время: пишите ЧЧ:ММ, например 09:00.
subscribe-err-bad-weekday = «{ $detail }» — не день недели: mon…sun, например weekly=mon@09:00.
subscribe-err-bad-timezone = Неизвестный часовой пояс «{ $detail }»: например Europe/Moscow, Asia/Tehran, Asia/Jerusalem или UTC.
subscribe-err-bad-size = Размер — число от 1 до 20, а не «{ $detail }».
subscribe-err-bad-empty = empty= принимает note или silent, а не «{ $detail }».
subscribe-err-bad-mode = mode= принимает topics, profile или both, а не «{ $detail }».
subscribe-err-unknown-option = Неизвестный параметр { $detail }.
subscribe-err-too-many = У этого чата уже { $limit } подписок; сначала удалите одну через /unsubscribe.
subscribe-done = ✅ Подписка оформлена. Дайджест придёт в указанное время; /digest покажет его сейчас.
subscriptions-none = У этого чата нет подписок на дайджесты.
subscriptions-title = <b>Подписки на дайджесты</b> (#id · темы · язык · расписание · размер · если пусто)
unsubscribe-none = У этого чата нет подписок на дайджесты.
unsubscribe-which = Какую? Отправьте /unsubscribe с её номером или /unsubscribe all:
unsubscribe-done = Удалено подписок: { $count }.
digest-preview = 👀 <b>Предпросмотр</b> следующего дайджеста (подписчикам ничего не отправлено):
digest-preview-silent = Ничего нового, а эта подписка молчит, когда новостей нет.
digest-title = 📰 <b>Дайджест статей</b> · { $date } · { $topics } · статей: { $count }
digest-empty = 📰 <b>Дайджест статей</b> · { $date } · { $topics }: новых статей нет.
digest-no-announcement = 📰 Сегодня arXiv ничего не публиковал ({ $reason ->
    [holiday] праздник
   *[weekend] выходные
}): следующая публикация — { $next } ({ $timezone }).
digest-original-language = [на языке оригинала: { $language ->
    [ru] русский
    [fa] персидский
    [he] иврит
   *[en] английский
}]
digest-sources = Источники:
digest-why-abstract = резюме: аннотация самой статьи (модель не нужна)
digest-why-post = резюме взято из поста ({ $detail })
digest-why-model = резюме написала модель { $model }
digest-why-not-configured = без резюме модели: модель не настроена ({ $detail })
digest-why-unavailable = без резюме модели: { $model } недоступна: { $detail ->
    [unknown-model] неизвестная модель
    [no-models] в этом процессе нет моделей
    [not-available] не установлена
   *[other] { $detail }
}
digest-why-failed = без резюме модели: сбой { $model }: { $detail ->
    [timeout] тайм-аут
    [connection-failed] нет соединения
    [malformed-response] испорченный ответ
   *[other] { $detail }
}
digest-why-wrong-language = без резюме модели: не тот язык — { $model } ответила на языке { $detail }
digest-why-unusable = без резюме модели: ответ { $model } непригоден ({ $detail ->
    [empty] пустой
    [too-short] слишком короткий
    [repetitive] повторы
   *[other] { $detail }
})
sources-none = Источников пока нет: они появятся после первой загрузки или когда канал что-то опубликует.
sources-title = <b>Источники дайджестов</b>
sources-items = записей: { $count }
sources-last-ok = последний успех { $when }
sources-failing = ошибок подряд: { $count }: { $error }
submit-stored = 📥 Спасибо! Статья { $paper } сохранена для дайджестов.
submit-stored-text = 📥 Спасибо! Сохранено — id arXiv или DOI не найден, сопоставлю по названию и тексту.
submit-duplicate = Это уже присылали.
submit-too-long = Слишком длинно: не больше { $limit } символов.
submit-bad-digits = Номер arXiv пишется цифрами 0–9: { $value } — не номер arXiv.
