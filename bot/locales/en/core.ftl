start-greeting = Hi, { $name }! I let ML chats <b>run</b> the papers they argue about, on local quantized models, and send paper digests in your language.
    Try /help to see what I can do here.
help-header = <b>Commands</b>
help-admin-header = <b>Admin commands</b>
help-footer = Language: /lang · Your data: /history, /export, /forget
cmd-start = start the bot
cmd-help = what I can do in this chat
cmd-lang = choose the language: /lang ru
cmd-history = your recent requests: /history 20
cmd-export = download your whole history as JSON
cmd-forget = delete everything I store about you
cmd-stats = usage statistics
lang-choose = Choose a language:
lang-set = Language set: { $language }.
lang-unknown = I don't speak “{ $code }”. Available: { $available }.
history-empty = You have no requests yet. Try /help.
history-header = <b>Your requests</b> ({ $from }–{ $to } of { $total })
history-bad-number = Give the number of entries as a whole number from 1 to { $max }, e.g. /history 10.
status-ok = ✅
status-error = ⚠️ error
status-rejected = ⛔ rejected
btn-prev = ◀ Newer
btn-next = Older ▶
export-caption = Your history: { $count } requests.
export-empty = There is nothing to export yet.
forget-confirm = Delete <b>everything</b> I store about you ({ $count } requests)? This cannot be undone.
btn-forget-yes = Yes, delete
btn-cancel = Cancel
forget-done = Done: your data is deleted ({ $count } requests).
forget-cancelled = Nothing was deleted.
stats-text = <b>Statistics</b>
    Users: { $users } · Chats: { $chats }
    Requests: { $requests } · Errors: { $errors } · Rejected: { $rejected }
stats-by-command = <b>By command</b> (requests / errors)
admin-only = This command is for the bot's admins.
unknown-command = I don't know /{ $command }. See /help.
private-chatter = I answer commands. See /help for the list.
error-apology = Sorry, something went wrong on my side. It is logged; please try again later.
quota-wait = Too many requests. Try again in { $seconds } s.
stale-button = This button has expired.
not-your-button = This button is not for you.
text-too-long = That is too long: at most { $limit } characters.
model-err-limits = This request asks the model for more than this bot allows ({ $what } = { $value }, at most { $limit }). The bot's admin can change the limits.
# --- groups: permissions, /cancel, private data (issue 12) ---
refused-bot-admin = /{ $command } is for the bot's admins.
refused-chat-admin = Only this chat's admins can use /{ $command } here.
lang-admins-only = Only this group's admins can change its language.
help-rule-chat-admin = group admins
help-rule-bot-admin = bot admins
mention-hint = I answer commands: see /help. In a group, write /command or /command@{ $bot }.
cmd-cancel = stop your running request
cancel-usage = /cancel stops your running request; reply /cancel to a request to pick it; admins: /cancel all
cancel-done = Stopping { $count } running { $count ->
    [one] request
   *[other] requests
}.
cancel-nothing = Nothing of yours is running here.
cancel-not-yours = Only the request's author or a chat admin can cancel it.
job-cancelled = ⏹ Cancelled.
status-cancelled = ⏹ cancelled
status-interrupted = ⚠️ interrupted by a restart
history-header-chat = <b>Your requests in this chat</b> ({ $from }–{ $to } of { $total })
export-caption-all = Everything I store about you: { $count } requests and the rest, as one JSON file.
export-sent-private = I sent your data to you in a private message.
export-start-private = I cannot write to you privately yet: open a chat with me and press Start, and I will send your data there.
btn-open-private = Open a private chat
forget-confirm-all = Delete <b>everything</b> I store about you ({ $count } requests, your results, images, votes, submissions and subscriptions you created)? In groups, what belongs to the group stays, without your name. This cannot be undone.

## input parsing (bot/parsing.py) and the durable inbox (bot/transports/inbox.py)
input-not-a-number = “{ $value }” is not a number: use the digits 0–9, from { $min } to { $max }.
input-out-of-range = { $value } is out of range: use a number from { $min } to { $max }.
input-bad-id = “{ $value }” is not an id: use the number shown in the list (digits 0–9).
input-bad-time = “{ $value }” is not a time: use HH:MM (24-hour), e.g. 09:00.
input-bad-weekday = “{ $value }” is not a day of the week: use mon … sun or 1 … 7.
input-bad-timezone = Unknown time zone “{ $value }”: use a name like Europe/Moscow, Asia/Tehran, Asia/Jerusalem or UTC.
input-stale-button = This button is outdated; run the command again.
job-interrupted = ⚠️ Your { $command } was interrupted by a restart of the bot and did not finish. Please run it again.
btn-digest-unsubscribe = 🔕 Unsubscribe
digest-vote-thanks = Thanks! Paper { $paper }: 👍 { $up } · 👎 { $down }
digest-unsubscribed = This chat no longer gets this digest.
digest-unsubscribe-admins = Only this group's admins can unsubscribe it.
sources-votes = <b>Readers' votes</b> (👍 / 👎)
