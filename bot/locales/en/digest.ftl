cmd-subscribe = subscribe this chat to a paper digest
cmd-subscriptions = this chat's digest subscriptions
cmd-unsubscribe = stop a digest: /unsubscribe 3 (or all)
cmd-digest = preview this chat's next digest now
cmd-submit = send a paper (arXiv link or text) to the digests
cmd-sources = digest sources and their health
subscribe-usage = <b>/subscribe topics lang=.. daily=HH:MM tz=..</b>, e.g. <code>/subscribe llm, semantic leakage lang=ru daily=09:00 tz=Europe/Moscow size=5</code> or <code>/subscribe diffusion weekly=mon@18:30</code>. Options: lang=en|ru|fa|he, daily=HH:MM or weekly=DAY@HH:MM, tz (default UTC), size=1..20, empty=note|silent, mode=topics|profile|both (rank by topic words, by the chat's 👍/👎 and reading list, or both; default both).
submit-usage = <b>/submit</b> an arXiv link or a paper's title and text, e.g. <code>/submit https://arxiv.org/abs/2408.06518</code>
digest-admins-only = Only this chat's admins can change its digest subscriptions.
subscribe-err-empty = Say what the digest is about.
subscribe-err-no-topics = Give at least one topic or keyword.
subscribe-err-too-many-topics = At most { $detail } topics.
subscribe-err-topic-too-long = This topic is too long: { $detail }
subscribe-err-duplicate-option = The option { $detail } is given twice.
subscribe-err-bad-language = Unknown language “{ $detail }”: use en, ru, fa or he.
subscribe-err-bad-time = “{ $detail }” is not a time: use HH:MM, e.g. 09:00.
subscribe-err-bad-weekday = “{ $detail }” is not a weekday: use mon…sun, e.g. weekly=mon@09:00.
subscribe-err-bad-timezone = Unknown timezone “{ $detail }”: use a name like Europe/Moscow, Asia/Tehran, Asia/Jerusalem or UTC.
subscribe-err-bad-size = The size must be a number from 1 to 20, not “{ $detail }”.
subscribe-err-bad-empty = empty= takes note or silent, not “{ $detail }”.
subscribe-err-bad-mode = mode= takes topics, profile or both, not “{ $detail }”.
subscribe-err-unknown-option = Unknown option { $detail }.
subscribe-err-too-many = This chat already has { $limit } subscriptions; remove one with /unsubscribe first.
subscribe-done = ✅ Subscribed. The digest comes at the time below; /digest shows a preview now.
subscriptions-none = This chat has no digest subscriptions.
subscriptions-title = <b>Digest subscriptions</b> (#id · topics · language · schedule · size · when empty)
unsubscribe-none = This chat has no digest subscriptions.
unsubscribe-which = Which one? Send /unsubscribe with its number, or /unsubscribe all:
unsubscribe-done = Removed { $count ->
    [one] one subscription
   *[other] { $count } subscriptions
}.
digest-preview = 👀 <b>Preview</b> of the next digest (nothing is sent to subscribers):
digest-preview-silent = Nothing new, and this subscription stays silent when there is nothing new.
digest-title = 📰 <b>Paper digest</b> · { $date } · { $topics } · { $count ->
    [one] one paper
   *[other] { $count } papers
}
digest-empty = 📰 <b>Paper digest</b> · { $date } · { $topics }: no new papers this time.
digest-no-announcement = 📰 No arXiv announcement today ({ $reason ->
    [holiday] a holiday
   *[weekend] weekend
}): the next is on { $next } ({ $timezone }).
digest-original-language = [in { $language ->
    [ru] Russian
    [fa] Persian
    [he] Hebrew
   *[en] English
}]
digest-sources = Sources:
digest-why-abstract = summary: the paper's own abstract (no model needed)
digest-why-post = summary taken from a { $detail } post
digest-why-model = summary written by { $model }
digest-why-not-configured = no model summary: model not configured ({ $detail })
digest-why-unavailable = no model summary: { $model } unavailable: { $detail ->
    [unknown-model] unknown model
    [no-models] no models in this process
    [not-available] not installed
   *[other] { $detail }
}
digest-why-failed = no model summary: { $model } failed: { $detail ->
    [timeout] timeout
    [connection-failed] connection failed
    [malformed-response] malformed response
   *[other] { $detail }
}
digest-why-wrong-language = no model summary: wrong language: { $model } answered in { $detail }
digest-why-unusable = no model summary: { $model } gave an unusable answer ({ $detail ->
    [empty] empty
    [too-short] too short
    [repetitive] repetitive
   *[other] { $detail }
})
sources-none = No digest sources yet: they appear after the first fetch, or when a channel posts.
sources-title = <b>Digest sources</b>
sources-items = { $count } items
sources-last-ok = last ok { $when }
sources-failing = failing { $count }× in a row: { $error }
submit-stored = 📥 Thanks! Stored paper { $paper } for the digests.
submit-stored-text = 📥 Thanks! Stored — I found no arXiv id or DOI, so it is matched by its title and text.
submit-duplicate = This was already submitted.
submit-too-long = Too long: at most { $limit } characters.
submit-bad-digits = An arXiv id is written with the digits 0–9: { $value } is not one.
