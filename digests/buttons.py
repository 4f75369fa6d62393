"""The inline buttons under a delivered digest: 👍/👎 per paper and "unsubscribe" (handlers/digest_votes.py answers
them). Callback data carries ids only, never text."""
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from chatkit.parsing import Count, RowId, Vote

MAX_PAPERS_WITH_BUTTONS = 10  # 20 vote buttons + unsubscribe stay well under Telegram's 100


class DigestVoteButton(CallbackData, prefix="dv"):
    # Bounded (chatkit/parsing.py): a forged button with a number BIGINT cannot hold does not unpack.
    issue_id: RowId
    paper: Count  # 1-based position of the paper in the issue
    value: Vote  # +1 or -1


class DigestUnsubscribeButton(CallbackData, prefix="du"):
    subscription_id: RowId


def digest_keyboard(issue_id: int, subscription_id: int | None, papers: int,
                    unsubscribe_label: str) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    count = min(papers, MAX_PAPERS_WITH_BUTTONS)
    for position in range(1, count + 1):
        builder.button(text=f"👍 {position}",
                       callback_data=DigestVoteButton(issue_id=issue_id, paper=position, value=1))
        builder.button(text=f"👎 {position}",
                       callback_data=DigestVoteButton(issue_id=issue_id, paper=position, value=-1))
    sizes = [4] * (count // 2) + ([2] if count % 2 else [])
    if subscription_id is not None:
        builder.button(text=unsubscribe_label, callback_data=DigestUnsubscribeButton(subscription_id=subscription_id))
        sizes.append(1)
    if not list(builder.buttons):
        return None
    markup = builder.adjust(*sizes).as_markup()
    return markup if isinstance(markup, InlineKeyboardMarkup) else None
