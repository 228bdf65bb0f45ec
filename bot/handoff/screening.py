"""What a question for the support chat must never carry: codes, the QR code's contents, a PIN or PUK.

The bot tells people never to send these to anyone; a message that looks like one is not forwarded. The
checks lean towards refusing: a person whose question is held back is asked to write it without the code,
while a code that reaches a group chat can empty an account or move the line to a stranger's phone.
"""

from __future__ import annotations

import re

__all__ = ["looks_like_a_code"]

# Words that name a secret, in the bot's three languages, followed closely by what could be one.
_SECRET_WORDS = r"code|otp|pin|puk|password|passcode|mot de passe|mdp|验证码|校验码|激活码|密码|口令|动态码"
_NAMED_SECRET = re.compile(rf"(?:{_SECRET_WORDS})\D{{0,20}}\d(?:[\s-]?\d){{3,}}", re.IGNORECASE)
# An eSIM activation code (what the QR code holds): LPA:1$<SM-DP+ address>$<matching id>.
_ACTIVATION = re.compile(r"LPA:|\b1\$[\w.-]+\.[a-z]{2,}\$", re.IGNORECASE)
# A matching id or voucher: groups of letters and digits joined by dashes, e.g. K2-1Y2ZX-1BJ5T-QZ7TZ.
_MATCHING_ID = re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]{2,}(?:-[A-Z0-9]{2,}){3,}\b")
# An ICCID (the SIM's own number, 19 or 20 digits starting 89), spaces allowed.
_ICCID = re.compile(r"(?<!\d)8\s?9(?:\s?\d){17,18}(?!\d)")
# A bare one-time code: five to eight digits standing alone, maybe in two groups (123 456); a price is not.
_CURRENCY = r"\s?(?:XPF|CFP|F\b|francs?|EUR|€|USD|AUD|NZD|\$|元|块|円|yen)"
_BARE_CODE = re.compile(
    rf"(?<![\d.:/$€¥£])(?<!\d,)\d{{3,4}}[\s-]?\d{{2,4}}(?![\d.:/]|,\d)(?!{_CURRENCY})", re.IGNORECASE
)


def looks_like_a_code(text: str) -> bool:
    """Tells whether ``text`` seems to hold a code, an activation code, a PIN/PUK or an ICCID."""
    if _ACTIVATION.search(text) or _MATCHING_ID.search(text) or _ICCID.search(text):
        return True
    if _NAMED_SECRET.search(text):
        return True
    return any(5 <= len(re.sub(r"\D", "", found)) <= 8 for found in _BARE_CODE.findall(text))
