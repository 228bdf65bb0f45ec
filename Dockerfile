# syntax=docker/dockerfile:1
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BOT_DATABASE=/data/esim-bot.sqlite3

# Time-zone data for reminders at a sensible local hour (the locked tzdata wheel is the fallback), and
# Graphviz for `esim-bot stats --draw` (the funnel drawn on the flow). Not pinned: Debian drops a package's
# superseded versions from its archive, so a pinned version would break the build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends tzdata graphviz \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 10001 bot \
    && useradd --create-home --uid 10001 --gid bot bot \
    && mkdir /data /app \
    && chown bot:bot /data /app

WORKDIR /app
USER 10001:10001

# The locked dependencies first, in a layer of their own: it is rebuilt only when a lock changes.
COPY --chown=bot:bot scripts/install ./scripts/install
COPY --chown=bot:bot requirements ./requirements
RUN ./scripts/install --deps-only

# Then the bot as a package (not editable), by the same script as README's first command.
COPY --chown=bot:bot pyproject.toml README.md ./
COPY --chown=bot:bot bot ./bot
RUN ./scripts/install --no-editable

# What operators edit comes last, so changing a text rebuilds nothing above.
COPY --chown=bot:bot flows ./flows
COPY --chown=bot:bot locales ./locales

VOLUME ["/data"]
CMD ["/app/.venv/bin/esim-bot", "run"]
