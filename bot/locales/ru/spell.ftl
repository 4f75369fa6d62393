cmd-spell = как модели видят и пишут слово по буквам (Liu et al., 2023)
cmd-spellbench = бенчмарк правописания на четырёх языках
spell-usage = <b>/spell слово</b>, например <code>/spell клубника</code>, <code>/spell т.е.</code> или <code>/spell strawberry</code>
spell-title = 🔤 <b>{ $word }</b> · { $language } · частотность: { $band }
spell-sees = <b>Что видят модели</b>
spell-tokens = { $count ->
    [one] { $count } токен
    [few] { $count } токена
   *[other] { $count } токенов
}
spell-spellings = <b>По буквам</b>
spell-time = ⏱ { $seconds } с
spell-band-top1 = верхний 1% (очень частое)
spell-band-1-10 = верхние 1–10%
spell-band-10-20 = верхние 10–20%
spell-band-20-30 = верхние 20–30%
spell-band-30-50 = верхние 30–50%
spell-band-bottom50 = нижние 50% (редкое)
spell-band-rare = нет среди 20 000 самых частых слов
spell-err-empty = Напишите одно слово или знак: <code>/spell клубника</code>
spell-err-several = Пожалуйста, по одному слову (без пробелов).
spell-err-too-long = Слишком длинно: не больше { $limit } символов.
spell-err-nul = Здесь есть символ NUL, его нельзя разобрать по буквам.
spell-err-control = Здесь есть управляющие символы (например, табуляция или escape), их нельзя разобрать по буквам.
spell-err-surrogate = Здесь есть повреждённый символ (одиночный суррогат UTF-16), его нельзя разобрать по буквам.
spell-err-busy = Модели заняты: в очереди { $position } запросов. Попробуйте через минуту.
spell-err-unknown-model = Неизвестная модель { $name }. Доступны: { $names }.
spell-err-unavailable = Модель { $name } не установлена у этого бота.
spell-err-timeout = Модели слишком долго отвечали. Попробуйте ещё раз.
spell-err-prompt-too-long = Запрос слишком длинный для модели.
spell-bench-progress = Бенчмарк правописания: { $done }/{ $total } прогонов…
spell-bench-done = <b>Бенчмарк правописания</b> · { $seconds } с
