"""The fake Bot API that the end-to-end tests rely on answers like Telegram for what aiogram sends it."""
from bot.app import create_bot
from fakes.botapi import FakeBotAPI
from handlers.settings import Settings


async def test_texts_that_look_like_json_arrive_verbatim():
    async with FakeBotAPI() as fake:
        bot = create_bot(Settings(_env_file=None, bot_token="1:fake", telegram_api_base=fake.base_url))
        try:
            for text in ("null", "42", "1e5", "true", '"quoted"', "[1, 2]", '{"a": 1}', "plain"):
                message = await bot.send_message(7, text, parse_mode=None)
                assert message.text == text and fake.delivered[-1] == (7, text)
                assert fake.calls[-1].params["text"] == text
            await bot.set_webhook("https://example.org/hook", secret_token="12345")
            assert fake.calls[-1].params["secret_token"] == "12345"
        finally:
            await bot.session.close()
