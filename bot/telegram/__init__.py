"""The Telegram side of the bot: python-telegram-bot wiring and its HTTP layer."""
