"""Local fake servers (Telegram Bot API, image providers, OpenAI-compatible, feeds) for tests, benchmarks and
offline demos. They listen on loopback only."""
