# syntax=docker/dockerfile:1
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BOT_DATABASE=/data/esim-bot.sqlite3

# Time-zone data for reminders at a sensible local hour (the tzdata wheel is installed too, as a fallback).
RUN apt-get update \
    && apt-get install --yes --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 bot \
    && mkdir /data /app \
    && chown bot:bot /data /app

WORKDIR /app
COPY --chown=bot:bot pyproject.toml README.md ./
COPY --chown=bot:bot scripts ./scripts
COPY --chown=bot:bot bot ./bot
COPY --chown=bot:bot flows ./flows
COPY --chown=bot:bot locales ./locales

USER bot
# The same install step as README's first command.
RUN ./scripts/install

VOLUME ["/data"]
CMD ["/app/.venv/bin/esim-bot", "run"]
