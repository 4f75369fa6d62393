"""One aiogram Router per feature, and the Telegram-side helpers they share (docs/architecture.md, "Layers").

The routers are listed in `handlers/routers.py`, not here: importing any helper (settings, i18n, commands) would
otherwise import every feature and the models behind them (torch, scipy)."""
