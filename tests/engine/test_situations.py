"""Each situation the default flow serves, walked by button id in every language: what the person must be
told, and what would be wrong for them (an eSIM step for a SIM card, a refund for a used-up plan...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from bot.callbacks import FlowPress
from bot.engine.conversation import ScheduleReminder
from bot.engine.engine import FlowEngine, Outcome, StepResult
from bot.engine.screens import Screen
from bot.flows import FlowBundle

LANGUAGES = ("zh-Hans", "fr", "en")
ESIM_OR_EMAIL = ("eSIM", "email", "e-mail", "邮件", "spam", "垃圾")
DONT_DELETE = {"en": "Don't delete", "fr": "Ne supprimez pas", "zh-Hans": "先不要删除"}


@dataclass
class Walk:
    """A conversation walked by button ids, keeping every screen it showed."""

    engine: FlowEngine
    result: StepResult
    states: list[str] = field(default_factory=list)
    screens: list[Screen] = field(default_factory=list)

    @property
    def screen(self) -> Screen:
        return self.result.screen

    @property
    def state(self) -> str:
        return self.result.conversation.state

    def ids(self) -> list[str]:
        return [b.press.button for row in self.screen.rows for b in row if isinstance(b.press, FlowPress)]

    def press(self, *button_ids: str) -> Walk:
        for button_id in button_ids:
            pressed = next(
                (
                    b.press
                    for row in self.screen.rows
                    for b in row
                    if isinstance(b.press, FlowPress) and b.press.button == button_id
                ),
                None,
            )
            assert pressed is not None, f"no button {button_id!r} on {self.state}: {self.ids()}"
            self.result = self.engine.press(self.result.conversation, pressed)
            assert self.result.outcome is Outcome.ADVANCED
            self.states.append(self.state)
            self.screens.append(self.screen)
        return self

    def urls(self) -> list[str]:
        return [b.url for row in self.screen.rows for b in row if b.url]

    def copy_texts(self) -> list[str]:
        return [b.copy_text for row in self.screen.rows for b in row if b.copy_text]

    def first_reminder_after(self) -> timedelta:
        (effect,) = [e for e in self.result.effects if isinstance(e, ScheduleReminder)]
        return effect.delay


def walk(engine: FlowEngine, language: str, *button_ids: str, link: str | None = None) -> Walk:
    """Starts a conversation (optionally from a deep link) and presses the buttons with these ids."""
    return Walk(engine, engine.start(language, link)).press("go", *button_ids)


# -- a travel eSIM bought directly ------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_active_travel_esim_asks_the_seller_for_a_refund_before_deleting(
    default_engine: FlowEngine, language: str
) -> None:
    person = walk(default_engine, language, "travel", "direct", "airalo", "active")
    assert person.state == "travel_request"
    assert "Request Refund" in person.screen.text
    assert DONT_DELETE[language] in person.screen.text
    assert "https://px-ep-airgsm.px-prod.airalo.com/en_US/page/refund-policy" in person.urls()
    (message,) = person.copy_texts()
    assert message.startswith("Hello, I would like a refund")
    assert "[order number]" in message
    assert "t_bill" not in person.ids(), "a prepaid travel eSIM has no bill"
    person.press("sent")
    assert "7-10" in person.screen.text or "7 à 10" in person.screen.text, "Airalo's own refund time"
    assert person.first_reminder_after() == timedelta(days=7)


@pytest.mark.parametrize("language", LANGUAGES)
def test_holafly_waiting_says_not_to_open_a_second_request(default_engine: FlowEngine, language: str) -> None:
    person = walk(default_engine, language, "travel", "direct", "holafly", "active", "sent")
    assert {"en": "second request", "fr": "deuxième demande", "zh-Hans": "不要重复提交"}[
        language
    ] in person.screen.text
    assert "5-10" in person.screen.text or "5 à 10" in person.screen.text
    assert "3.50" not in person.screen.text
    assert "3,50" not in person.screen.text


@pytest.mark.parametrize(("seller", "first"), [("nomad", 5), ("ubigi", 7), ("saily", 7), ("other", 7)])
def test_each_seller_sets_its_own_reminder_pace(default_engine: FlowEngine, seller: str, first: int) -> None:
    person = walk(default_engine, "en", "travel", "direct", seller, "active", "sent")
    assert person.first_reminder_after() == timedelta(days=first)


# -- bought through a reseller ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("reseller", ["klook", "trip", "fliggy", "bundle"])
def test_a_reseller_purchase_goes_to_the_reseller(
    default_engine: FlowEngine, language: str, reseller: str
) -> None:
    person = walk(default_engine, language, "travel", reseller, "active")
    assert person.state == "travel_request"
    assert not any("airalo" in url or "holafly" in url for url in person.urls())
    assert "Airalo" not in person.screen.text
    (message,) = person.copy_texts()
    if reseller == "fliggy":
        assert "退款" in message, "Fliggy and Taobao answer in Chinese"
    else:
        assert message.startswith("Hello")


def test_klook_waiting_uses_klooks_times(default_engine: FlowEngine) -> None:
    person = walk(default_engine, "en", "travel", "klook", "active", "sent")
    assert "3-14 working days" in person.screen.text
    assert person.first_reminder_after() == timedelta(days=7)


# -- expired, deleted, renewing ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_used_up_esim_gets_no_refund_request(default_engine: FlowEngine, language: str) -> None:
    person = walk(default_engine, language, "travel", "direct", "nomad", "used_up")
    assert person.state == "used_up"
    assert "sent" not in person.ids()
    assert not person.copy_texts()
    person.press("remove")
    assert person.state == "remove_pick"
    assert "travel_request" not in person.states
    person.press("back")
    assert person.state == "used_up"


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_already_deleted_esim_is_never_asked_to_be_deleted(
    default_engine: FlowEngine, bundle_texts: dict[str, dict[str, str]], language: str
) -> None:
    person = walk(default_engine, language, "travel", "direct", "airalo", "deleted", "ask")
    assert DONT_DELETE[language] not in person.screen.text
    person.press("sent")
    assert bundle_texts[language]["waiting.text"].splitlines()[-1] not in person.screen.text
    person.press("got_it", "confirmed")
    assert person.state == "done"
    assert not {"remove_pick", "rm_steps"} & set(person.states)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_deleted_nomad_esim_is_told_the_single_use_rule_and_may_still_ask(
    default_engine: FlowEngine, language: str
) -> None:
    # Nomad's "removed before the request" rule covers single-use eSIMs only (facts v3); others may ask.
    person = walk(default_engine, language, "travel", "direct", "nomad", "deleted")
    assert "Nomad" in person.screen.text
    assert person.ids() == ["ask", "fine", "back"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_renewing_subscription_is_switched_off_with_the_sellers_page(
    default_engine: FlowEngine, language: str
) -> None:
    person = walk(default_engine, language, "travel", "direct", "holafly", "renewing")
    assert any("cancel-holafly-plans-subscription" in url for url in person.urls())
    assert "7" in person.screen.text, "cancel at least 7 days before the renewal"
    assert any("automatic renewal" in text for text in person.copy_texts())
    person.press("renewal_off")
    assert person.state == "done"


def test_an_airalo_renewal_is_the_renewals_toggle(default_engine: FlowEngine) -> None:
    person = walk(default_engine, "en", "travel", "direct", "airalo", "renewing")
    assert "RENEWALS" in person.screen.text


# -- a carrier back home ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_stopping_roaming_keeps_the_number_and_asks_for_no_cancellation(
    default_engine: FlowEngine, language: str
) -> None:
    person = walk(default_engine, language, "home", "australia", "roaming")
    assert person.state == "home_roaming"
    assert "My Telstra" in person.screen.text
    assert "sent" not in person.ids()
    assert not person.copy_texts()
    for phone in ("iphone", "samsung", "pixel", "xiaomi", "huawei", "oppo", "android"):
        person.press("steps", phone)
        assert person.state == "roam_steps"
        person.press("back", "back")
    person.press("done")
    assert person.state == "done"


@pytest.mark.parametrize("language", LANGUAGES)
def test_ending_a_french_line_explains_the_number_and_offers_a_french_request(
    default_engine: FlowEngine, language: str
) -> None:
    person = walk(default_engine, language, "home", "france", "end")
    assert "3179" in person.screen.text
    assert "OPT" in person.screen.text, "a French number cannot move to an OPT line"
    person.press("t_bill", "next")
    (message,) = person.copy_texts()
    assert "résilier ma ligne" in message
    person.press("sent")
    assert person.first_reminder_after() == timedelta(hours=24)


@pytest.mark.parametrize(
    ("language", "either"),
    [("en", "SIM card or eSIM"), ("fr", "carte SIM ou l'eSIM"), ("zh-Hans", "SIM 卡或 eSIM")],
)
def test_waiting_for_a_carrier_does_not_assume_the_line_is_an_esim(
    default_engine: FlowEngine, language: str, either: str
) -> None:
    person = walk(default_engine, language, "home", "france", "end", "next", "sent")
    assert person.state == "waiting"
    assert either in person.screen.text, "a home line may well be a physical SIM card"


@pytest.mark.parametrize(
    ("country", "word"), [("china", "销户"), ("japan", "解約"), ("new_zealand", "cancel")]
)
def test_each_home_country_gets_a_request_in_its_carriers_language(
    default_engine: FlowEngine, country: str, word: str
) -> None:
    person = walk(default_engine, "en", "home", country, "end", "next")
    (message,) = person.copy_texts()
    assert word in message


def test_told_orange_leads_to_the_french_carrier(default_engine: FlowEngine) -> None:
    person = walk(default_engine, "en", link="orange")
    assert person.state == "told_orange"
    assert "roam" in person.screen.text
    person.press("home")
    assert person.state == "home_goal"


# -- an OPT / Helia line ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("line", ["prepaid", "forfait", "tourism"])
def test_an_opt_sim_card_in_new_caledonia_never_hears_of_an_esim_or_an_email(
    default_engine: FlowEngine, language: str, line: str
) -> None:
    person = walk(default_engine, language, "opt", line, "here")
    (sentence,) = person.copy_texts()
    assert sentence.startswith("Bonjour")
    assert "résilier" in sentence
    person.press("later", "help", "back", "got_it", "confirmed")
    assert person.state == "done"
    for screen in person.screens[:-1]:
        for word in ESIM_OR_EMAIL:
            assert word not in screen.text, f"{word!r} on an OPT SIM-card screen: {screen.text[:60]!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_opt_line_from_abroad_uses_helias_form_in_french(
    default_engine: FlowEngine, language: str
) -> None:
    person = walk(default_engine, language, "opt", "forfait", "abroad")
    assert "https://www.helia.nc/reclamations" in person.urls()
    (message,) = person.copy_texts()
    assert "Nouvelle-Calédonie" in message
    assert "[numéro de la ligne]" in message
    person.press("sent")
    for word in ESIM_OR_EMAIL:
        assert word not in person.screen.text


def test_the_opt_reminder_and_its_help_mention_no_email(default_engine: FlowEngine) -> None:
    person = walk(default_engine, "en", "opt", "prepaid", "abroad", "sent")
    due = default_engine.reminder_due(person.result.conversation, "confirm_email", 1)
    assert due is not None
    help_screen = default_engine.renderer.render_help(person.result.conversation, "confirm_email", 1)
    for screen in (due.screen, help_screen):
        for word in ESIM_OR_EMAIL:
            assert word not in screen.text
    assert any("helia.nc" in b.url for row in help_screen.rows for b in row if b.url)


# -- lost phone, not sure ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("line", ["home", "travel", "opt"])
def test_a_lost_phone_gets_blocking_steps_not_deleting_steps(
    default_engine: FlowEngine, language: str, line: str
) -> None:
    person = walk(default_engine, language, "lost", line)
    assert person.state == f"lost_{line}"
    assert not {"remove_pick", "rm_steps"} & set(person.ids())
    if line == "opt":
        assert "https://www.helia.nc/reclamations" in person.urls()
    person.press("done")
    assert person.state == "done"


@pytest.mark.parametrize("language", LANGUAGES)
def test_not_sure_always_leads_somewhere_new(default_engine: FlowEngine, language: str) -> None:
    person = walk(default_engine, language, "unsure")
    assert {"travel", "home", "opt", "still"} <= set(person.ids())
    person.press("still")
    assert person.state == "any_provider"
    assert {"travel", "home", "opt"} <= set(person.ids())
    person.press("back", "unsure", "orange", "unsure")
    assert person.state == "any_provider"
    person = walk(default_engine, language, "travel", "unsure")
    assert person.state == "find_seller"
    person.press("still")
    assert person.state == "any_provider"


# -- phones, deep links -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_phone_has_its_own_deletion_steps(default_engine: FlowEngine, language: str) -> None:
    person = walk(default_engine, language, "travel", "direct", "saily", "active", "nothing")
    phones = ("iphone", "samsung", "pixel", "xiaomi", "huawei", "oppo", "android")
    assert set(phones) <= set(person.ids())
    seen = set()
    for phone in phones:
        person.press(phone)
        seen.add(person.screen.text)
        person.press("back")
    assert len(seen) == 6, "one text per phone, OPPO/OnePlus sharing the generic Android steps (not found)"


@pytest.mark.parametrize(
    ("link", "state"),
    [
        ("airalo", "esim_status"),
        ("klook", "esim_status"),
        ("fliggy", "esim_status"),
        ("home", "home_goal"),
        ("opt", "opt_line"),
        ("orange", "told_orange"),
        ("lost", "lost"),
    ],
)
def test_deep_links_land_on_the_warning_then_their_situation(
    default_engine: FlowEngine, link: str, state: str
) -> None:
    assert default_engine.start("en", link).conversation.state == "start"
    assert walk(default_engine, "en", link=link).state == state


@pytest.fixture
def bundle_texts(default_bundle: FlowBundle) -> dict[str, dict[str, str]]:
    """Every text by language, as plain dicts."""
    return {language: dict(texts) for language, texts in default_bundle.texts.by_language.items()}


def test_the_last_reminder_follows_the_sellers_pace(default_engine: FlowEngine) -> None:
    person = walk(default_engine, "en", "travel", "direct", "holafly", "active", "sent")
    conversation = person.result.conversation
    third = default_engine.reminder_due(conversation, "confirm_email", 3)
    assert third is not None
    assert third.conversation.state == "waiting"
    (following,) = third.effects
    assert isinstance(following, ScheduleReminder)
    assert following.delay == timedelta(days=7)
    fourth = default_engine.reminder_due(conversation, "confirm_email", 4)
    assert fourth is not None
    assert fourth.conversation.state == "no_reply", "Holafly: chase only after 14 business days"
    assert "not a new one" in fourth.screen.text
