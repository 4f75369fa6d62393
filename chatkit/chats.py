"""Telegram's chat kinds, defined once."""

PRIVATE_TYPES = frozenset({"private"})
GROUP_TYPES = frozenset({"group", "supergroup"})
