start-greeting = Привет, { $name }! Я помогаю ML-чатам <b>запускать</b> статьи, о которых они спорят, на локальных квантованных моделях, и присылаю дайджесты статей на вашем языке.
    Наберите /help, чтобы узнать, что я умею здесь.
help-header = <b>Команды</b>
help-admin-header = <b>Команды администратора</b>
help-footer = Язык: /lang · Ваши данные: /history, /export, /forget
cmd-start = запустить бота
cmd-help = что я умею в этом чате
cmd-lang = выбрать язык: /lang en
cmd-history = ваши последние запросы: /history 20
cmd-export = скачать всю историю в JSON
cmd-forget = удалить всё, что я о вас храню
cmd-stats = статистика использования
lang-choose = Выберите язык:
lang-set = Язык: { $language }.
lang-unknown = Я не говорю на «{ $code }». Доступны: { $available }.
history-empty = У вас пока нет запросов. Попробуйте /help.
history-header = <b>Ваши запросы</b> ({ $from }–{ $to } из { $total })
history-bad-number = Укажите число записей — целое от 1 до { $max }, например /history 10.
status-ok = ✅
status-error = ⚠️ ошибка
status-rejected = ⛔ отклонён
btn-prev = ◀ Новее
btn-next = Старше ▶
export-caption = Ваша история: запросов — { $count }.
export-empty = Пока нечего выгружать.
forget-confirm = Удалить <b>всё</b>, что я о вас храню (запросов: { $count })? Отменить будет нельзя.
btn-forget-yes = Да, удалить
btn-cancel = Отмена
forget-done = Готово: ваши данные удалены (запросов: { $count }).
forget-cancelled = Ничего не удалено.
stats-text = <b>Статистика</b>
    Пользователи: { $users } · Чаты: { $chats }
    Запросы: { $requests } · Ошибки: { $errors } · Отклонено: { $rejected }
stats-by-command = <b>По командам</b> (запросы / ошибки)
admin-only = Эта команда — только для администраторов бота.
unknown-command = Я не знаю команду /{ $command }. Смотрите /help.
private-chatter = Я отвечаю на команды. Список — в /help.
error-apology = Простите, у меня что-то сломалось. Ошибка записана; попробуйте позже.
quota-wait = Слишком много запросов. Попробуйте через { $seconds } с.
stale-button = Эта кнопка устарела.
not-your-button = Эта кнопка не для вас.
text-too-long = Слишком длинно: не больше { $limit } символов.
model-err-limits = Этот запрос требует от модели больше, чем разрешено в этом боте ({ $what } = { $value }, не больше { $limit }). Администратор бота может изменить ограничения.

## input parsing (bot/parsing.py) and the durable inbox (bot/transports/inbox.py)
input-not-a-number = «{ $value }» — не число: используйте цифры 0–9, от { $min } до { $max }.
input-out-of-range = { $value } — вне допустимого диапазона: нужно число от { $min } до { $max }.
input-bad-id = «{ $value }» — не номер: укажите число из списка (цифры 0–9).
input-bad-time = «{ $value }» — не время: используйте ЧЧ:ММ (24 часа), например 09:00.
input-bad-weekday = «{ $value }» — не день недели: используйте mon … sun или 1 … 7.
input-bad-timezone = Неизвестный часовой пояс «{ $value }»: используйте название вроде Europe/Moscow, Asia/Tehran, Asia/Jerusalem или UTC.
input-stale-button = Эта кнопка устарела; выполните команду ещё раз.
job-interrupted = ⚠️ Ваша команда { $command } прервана перезапуском бота и не завершилась. Пожалуйста, запустите её снова.
