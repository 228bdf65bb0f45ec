"""The application core: per-chat orchestration of engine, store and reminders. Knows nothing of Telegram."""
