"""The fact check's findings (issue 15), each walked to the screen people read, in every language: what the
facts (version 3) do not support must not come back."""

from __future__ import annotations

import pytest

from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle
from tests.engine.test_situations import LANGUAGES, walk

HEDGES = {
    "en": ("usually", "as far as we know", "in most cases"),
    "fr": ("en général", "à notre connaissance", "le plus souvent"),
    "zh-Hans": ("通常", "据我们所知", "一般来说"),
}
NO_BILL = {"en": "no bill follows", "fr": "sans facture", "zh-Hans": "不会有账单"}


def hedged(text: str, language: str) -> bool:
    return any(hedge in text.casefold() for hedge in HEDGES[language])


@pytest.mark.parametrize("language", LANGUAGES)
def test_turning_a_line_off_is_not_sold_as_stopping_every_charge(
    default_engine: FlowEngine, language: str
) -> None:
    person = walk(default_engine, language, "unsure", "still")
    assert person.state == "any_provider"
    lose_nothing = {"en": "lose nothing", "fr": "sans rien perdre", "zh-Hans": "不丢任何东西"}[language]
    assert lose_nothing not in person.screen.text
    renewal = {"en": "renewal", "fr": "renouvellement", "zh-Hans": "续订"}[language]
    assert renewal in person.screen.text
    assert hedged(person.screen.text, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_home_line_turned_off_stops_roaming_but_not_the_monthly_fee(
    default_engine: FlowEngine, language: str
) -> None:
    text = walk(default_engine, language, "home", "france", "here").screen.text
    neither = {"en": "does neither", "fr": "ni l'un ni l'autre", "zh-Hans": "都做不到这两点"}[language]
    roaming = {"en": "stop roaming", "fr": "arrête bien l'itinérance", "zh-Hans": "停止漫游"}[language]
    assert neither not in text
    assert roaming in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "path",
    [
        ("travel", "direct", "airalo", "deleted"),
        ("travel", "direct", "nomad", "deleted"),
        ("travel", "klook", "deleted"),
        ("lost", "travel"),
    ],
)
def test_no_screen_promises_that_no_bill_follows(
    default_engine: FlowEngine, language: str, path: tuple[str, ...]
) -> None:
    # Holafly subscriptions and Airalo renewals do bill; the others' renewal is NOT FOUND.
    assert NO_BILL[language] not in walk(default_engine, language, *path).screen.text.casefold()


@pytest.mark.parametrize("language", LANGUAGES)
def test_deleting_an_esim_with_data_left_is_not_free(default_engine: FlowEngine, language: str) -> None:
    person = walk(default_engine, language, "travel", "direct", "airalo", "active", "nothing")
    assert person.state == "remove_pick"
    free = {"en": "costs you nothing", "fr": "rien perdre", "zh-Hans": "不会让你损失"}[language]
    assert free not in person.screen.text
    assert "Airalo" in person.screen.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_opt_lines_being_physical_sims_is_hedged(default_engine: FlowEngine, language: str) -> None:
    person = walk(default_engine, language, "opt")
    assert person.state == "opt_line"
    assert hedged(person.screen.text, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_ubigis_refund_condition_quotes_both_pages_and_links_the_persons_language(
    default_engine: FlowEngine, language: str
) -> None:
    person = walk(default_engine, language, "travel", "direct", "ubigi", "active")
    qr = {
        "en": "QR code was never scanned",
        "fr": "QR code n'a jamais été scanné",
        "zh-Hans": "二维码从未扫描",
    }
    data = {"en": "data was not used", "fr": "données n'ont pas servi", "zh-Hans": "流量未使用"}
    assert qr[language] in person.screen.text
    assert data[language] in person.screen.text
    (page,) = [url for url in person.urls() if "ubigi" in url]
    assert ("/fr/" in page) is (language == "fr")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_lost_opt_sim_is_not_promised_the_complaints_form_blocks_it(
    default_engine: FlowEngine, language: str
) -> None:
    text = walk(default_engine, language, "lost", "opt").screen.text
    unconfirmed = {"en": "not confirmed", "fr": "rien ne confirme", "zh-Hans": "尚未确认"}[language]
    assert unconfirmed in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_new_zealands_80_percent_alert_is_for_pay_monthly_only(
    default_engine: FlowEngine, language: str
) -> None:
    text = walk(default_engine, language, "home", "new_zealand", "here", "roaming").screen.text
    assert "80" in text
    assert "Pay Monthly" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_day_pass_is_not_said_to_need_no_action(default_engine: FlowEngine, language: str) -> None:
    text = walk(default_engine, language, "home", "france", "here", "roaming").screen.text
    nothing = {"en": "nothing to cancel", "fr": "rien à résilier", "zh-Hans": "不需要取消"}[language]
    assert nothing not in text
    assert "Telstra" not in text, "Telstra's Day Pass rule is for Australian carriers"
    australian = walk(default_engine, language, "home", "australia", "here", "roaming").screen.text
    assert "Day Pass" in australian


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_second_helia_form_is_suggested(default_bundle: FlowBundle, language: str) -> None:
    text = default_bundle.texts.get(language, "no_reply.opt")
    once_more = {"en": "once more", "fr": "renvoyez", "zh-Hans": "或再提交一次表单"}[language]
    assert once_more not in text
    never = {"en": "Don't send a second form", "fr": "N'envoyez pas un deuxième", "zh-Hans": "不要再提交"}[
        language
    ]
    assert never in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_airmoney_is_not_promised_at_once_and_links_are_the_facts_pages(
    default_engine: FlowEngine, language: str
) -> None:
    person = walk(default_engine, language, "travel", "direct", "airalo", "active", "sent")
    review = {"en": "manual review", "fr": "vérification manuelle", "zh-Hans": "人工审核"}[language]
    assert review in person.screen.text
    airalo = walk(default_engine, language, "travel", "direct", "airalo", "active").urls()
    assert "https://www.airalo.com/refund-policy" not in airalo
    nomad = walk(default_engine, language, "travel", "direct", "nomad", "active").urls()
    assert "https://www.getnomad.app/help-center" not in nomad
    assert any("9886352" in url for url in nomad)


ENGLISH_LABELS_NOTE = {
    "fr": "Libellés en anglais : en français, nous ne les avons pas trouvés publiés",
    "zh-Hans": "这些是英文界面的名称；中文界面的名称我们没有找到公开资料",  # noqa: RUF001
}


@pytest.mark.parametrize("language", ["fr", "zh-Hans"])
@pytest.mark.parametrize(
    ("phone", "labels"),
    [
        ("iphone", ("Settings", "Cellular", "Delete eSIM", "Remove Cellular Plan")),
        ("samsung", ("Settings", "Connections", "SIM manager", "Remove")),
        ("pixel", ("Settings", "Network & internet", "SIMs", "Delete SIM")),
        ("huawei", ("Settings", "Mobile network", "SIM management")),
    ],
)
def test_phone_menu_labels_are_the_english_ones_the_facts_give_not_unverified_translations(
    default_engine: FlowEngine, language: str, phone: str, labels: tuple[str, ...]
) -> None:
    # Localized labels are NOT FOUND in the facts ([rm.localized-labels]): the English label, and our
    # translation only as a guess, said to be one.
    person = walk(default_engine, language, "travel", "direct", "airalo", "active", "nothing", phone)
    assert person.state == "rm_steps"
    text = person.screen.text.replace("&amp;", "&")
    for label in labels:
        assert label in text
    assert ENGLISH_LABELS_NOTE[language] in text
    guessed = {"fr": "sans doute", "zh-Hans": "可能是"}[language]
    assert guessed in text, "a translation is offered only as a guess"
