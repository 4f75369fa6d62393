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
# --- groups: permissions, /cancel, private data (issue 12) ---
refused-bot-admin = /{ $command } — только для администраторов бота.
refused-chat-admin = Здесь /{ $command } могут использовать только администраторы группы.
lang-admins-only = Язык группы могут менять только её администраторы.
help-rule-chat-admin = админы группы
help-rule-bot-admin = админы бота
mention-hint = Я отвечаю на команды: см. /help. В группе пишите /команда или /команда@{ $bot }.
cmd-cancel = остановить ваш текущий запрос
cancel-usage = /cancel останавливает ваш запрос; ответьте /cancel на запрос, чтобы выбрать его; админы: /cancel all
cancel-done = Останавливаю запросы: { $count }.
cancel-nothing = Здесь не выполняется ни одного вашего запроса.
cancel-not-yours = Отменить запрос может только его автор или администратор чата.
job-cancelled = ⏹ Отменено.
status-cancelled = ⏹ отменён
history-header-chat = <b>Ваши запросы в этом чате</b> ({ $from }–{ $to } из { $total })
export-caption-all = Всё, что я храню о вас: запросов — { $count }, и остальное, одним JSON-файлом.
export-sent-private = Я отправил ваши данные вам в личные сообщения.
export-start-private = Я пока не могу написать вам в личку: откройте чат со мной и нажмите «Старт» — я пришлю данные туда.
btn-open-private = Открыть личный чат
forget-confirm-all = Удалить <b>всё</b>, что я храню о вас (запросов — { $count }, результаты, картинки, голоса, присланные тексты и созданные вами подписки)? То, что принадлежит группам, останется, но без вашего имени. Это нельзя отменить.

## input parsing (bot/parsing.py) and the durable inbox (bot/transports/inbox.py)
input-not-a-number = «{ $value }» — не число: используйте цифры 0–9, от { $min } до { $max }.
input-out-of-range = { $value } — вне допустимого диапазона: нужно число от { $min } до { $max }.
input-bad-id = «{ $value }» — не номер: укажите число из списка (цифры 0–9).
input-bad-time = «{ $value }» — не время: используйте ЧЧ:ММ (24 часа), например 09:00.
input-bad-weekday = «{ $value }» — не день недели: используйте mon … sun или 1 … 7.
input-bad-timezone = Неизвестный часовой пояс «{ $value }»: используйте название вроде Europe/Moscow, Asia/Tehran, Asia/Jerusalem или UTC.
input-stale-button = Эта кнопка устарела; выполните команду ещё раз.
job-interrupted = ⚠️ Ваша команда { $command } прервана перезапуском бота и не завершилась. Пожалуйста, запустите её снова.
btn-digest-unsubscribe = 🔕 Отписаться
digest-vote-thanks = Спасибо! Статья { $paper }: 👍 { $up } · 👎 { $down }
digest-unsubscribed = Этот чат больше не получает этот дайджест.
digest-unsubscribe-admins = Отписать группу могут только её администраторы.
sources-votes = <b>Голоса читателей</b> (👍 / 👎)
