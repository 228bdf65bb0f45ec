"""Benchmarks: the full bot against bare python-telegram-bot and bare aiogram 3, on a fake Bot API."""
