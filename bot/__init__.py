"""A Telegram bot that walks people through cancelling an eSIM used in New Caledonia.

Layers, one way: ``bot.telegram`` (the edge) -> ``bot.runtime`` and ``bot.engine`` -> ``bot.flows``
(the flow definitions). Only ``bot.telegram`` imports python-telegram-bot.
"""
