"""What handlers may ask of the update context (`context` workflow data, `bot/middlewares/context.py`)."""
from typing import Protocol


class UserCache(Protocol):
    def forget(self, user_id: int) -> None:
        """The next update re-reads and re-writes the user (after /lang or /forget changed the row)."""
