"""Scheduled multilingual paper digests: sources (arXiv, RSS/Atom, Telegram channels, /submit), paper identity and
grouping across languages, ranking, summaries, rendering in the reader's language, scheduling and delivery.
No Telegram imports here except digests/broadcast.py, which is handed an aiogram Bot."""
