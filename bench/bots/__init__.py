"""The baseline bots the full bot is measured against; each runs as its own process."""
