"""The support chat's tests run the real Application against the fake Bot API, like tests/telegram."""

from tests.telegram.conftest import api, clock

__all__ = ["api", "clock"]
