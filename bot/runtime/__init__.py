"""The application core: per-chat orchestration of engine, store and reminders. Knows nothing of Telegram.

Read top-down: ``service`` (load, hand to a unit, commit once), then the units (``commands``: one per
menu command; ``buttons``: one per kind of button; ``typed``: anything typed; ``due``: a reminder that
fell due), what they share (``chat``), how a result is committed (``commit``) and what the edge is handed
(``messages``) and reads back for delivery (``outbox``). What arrives is an ``events`` union.
"""
