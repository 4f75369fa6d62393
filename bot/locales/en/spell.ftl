cmd-spell = how models see and spell a word (Liu et al. 2023)
cmd-spellbench = run the spelling benchmark in four languages
spell-usage = <b>/spell token</b>, e.g. <code>/spell strawberry</code>, <code>/spell e.g.</code> or <code>/spell клубника</code>
spell-title = 🔤 <b>{ $word }</b> · { $language } · frequency: { $band }
spell-sees = <b>What the models see</b>
spell-tokens = { $count ->
    [one] 1 token
   *[other] { $count } tokens
}
spell-spellings = <b>Letter by letter</b>
spell-time = ⏱ { $seconds } s
spell-band-top1 = top 1% (very common)
spell-band-1-10 = top 1–10%
spell-band-10-20 = top 10–20%
spell-band-20-30 = top 20–30%
spell-band-30-50 = top 30–50%
spell-band-bottom50 = bottom 50% (rare)
spell-band-rare = not among the 20,000 most frequent words
spell-err-empty = Give me one word or token: <code>/spell strawberry</code>
spell-err-several = One token at a time, please (no spaces).
spell-err-too-long = That is too long: at most { $limit } characters.
spell-err-nul = That contains a NUL character, which cannot be spelled.
spell-err-control = That contains control characters (such as tab or escape), which cannot be spelled.
spell-err-surrogate = That contains a broken character (a lone UTF-16 surrogate), which cannot be spelled.
spell-err-busy = The models are busy: { $position } requests in the queue. Try again in a minute.
spell-err-unknown-model = Unknown model { $name }. Available: { $names }.
spell-err-unavailable = The model { $name } is not installed on this bot.
spell-err-timeout = The models took too long to answer. Please try again.
spell-err-prompt-too-long = The request is too long for the model.
spell-bench-progress = Spelling benchmark: { $done }/{ $total } runs…
spell-bench-done = <b>Spelling benchmark</b> · { $seconds } s
