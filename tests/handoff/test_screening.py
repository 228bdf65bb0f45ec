"""A question that seems to carry a code is never forwarded to the support chat; ordinary questions are."""
# Chinese questions are written with Chinese punctuation.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from bot.handoff import looks_like_a_code

CODES = [
    # one-time codes, named or bare, in the three languages
    "my code is 482913",
    "Airalo sent me 482 913, what do I do?",
    "le code reçu par SMS : 4829",
    "Mon code PIN est 1234",
    "mot de passe 99887766",
    "验证码是 482913",
    "我的PUK码 12345678",
    "收到的短信 482-913",
    # what the eSIM's QR code holds
    "LPA:1$smdp.io$K2-1Y2ZX-1BJ5T-QZ7TZ",
    "1$rsp.truphone.com$QR-G-5C-1LS1W",
    "the activation code K2-1Y2ZX-1BJ5T-QZ7TZ does not work",
    # the SIM's own number
    "ICCID 8968 0100 0000 1234 5678",
    "89014103211118510720",
]

QUESTIONS = [
    "I bought a Holafly eSIM on 3 March 2026 and it renews every 30 days: how do I stop it?",
    "Airalo refunded 12 USD, is that normal?",
    "Mon forfait à 15000 XPF continue d'être prélevé, que faire ?",
    "J'ai payé 5 000 F à l'agence OPT le 12/03/2026.",
    "我在 2026 年 3 月买的 Nomad，7 天后还能退款吗？",
    "退款 15000 元 要多久？",
    "Is the OPT agency at 10:30 open on Saturdays?",
    "They charged 15 000 XPF, then 1,500.00 EUR?",
]


@pytest.mark.parametrize("text", CODES)
def test_a_message_that_looks_like_a_code_is_held_back(text: str) -> None:
    assert looks_like_a_code(text)


@pytest.mark.parametrize("text", QUESTIONS)
def test_an_ordinary_question_goes_through(text: str) -> None:
    assert not looks_like_a_code(text)
