"""The bottom kit: pure helpers every layer may use (docs/architecture.md).

Escaping, bidi isolation and message splitting (`render`), the total parsers of user text (`parsing`), the one
command parser (`command`), the user-input error type (`errors`) and chat kinds (`chats`). It imports nothing of
ours and not aiogram, so services, digests, models and storage can use it."""
