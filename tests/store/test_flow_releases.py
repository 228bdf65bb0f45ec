"""The flow version served, kept in the store for every instance, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.store import KEPT_RELEASES, FlowRelease, ReleaseHead, Store
from tests.store.conftest import StoreFactory

START = datetime(2025, 3, 10, tzinfo=UTC)


def release(number: int, version: str | None = None) -> FlowRelease:
    """Returns a release of the files of draft ``number`` (flow version ``version``, or ``v<number>``)."""
    version = version or f"v{number}"
    files = {"flows/cancel_esim.yaml": f"draft {number}", "locales/en.yaml": "welcome: Hello 你好"}
    meanings = f'{{"version": "{version}"}}'
    return FlowRelease("cancel_esim", version, f"digest-{number}", files, meanings)


async def test_a_store_has_no_release_until_one_is_published(store: Store) -> None:
    assert await store.release_head() is None
    assert await store.current_release() is None
    assert await store.flow_history("cancel_esim") == {}


async def test_a_published_release_is_current_with_its_files_and_meanings(store: Store) -> None:
    head = await store.publish_release(release(1), START, again=False)

    assert head == ReleaseHead(head.number, "cancel_esim", "v1", "digest-1")
    current = await store.current_release()
    assert current is not None
    assert current.head == head
    assert dict(current.files) == {
        "flows/cancel_esim.yaml": "draft 1",
        "locales/en.yaml": "welcome: Hello 你好",
    }
    assert current.meanings == '{"version": "v1"}'
    assert await store.flow_history("cancel_esim") == {"v1": '{"version": "v1"}'}


async def test_releases_are_numbered_in_publication_order_and_the_last_is_current(store: Store) -> None:
    first = await store.publish_release(release(1), START, again=False)
    second = await store.publish_release(release(2), START + timedelta(minutes=1), again=False)

    assert second.number > first.number
    assert await store.release_head() == second
    assert await store.flow_history("cancel_esim") == {
        "v1": '{"version": "v1"}',
        "v2": '{"version": "v2"}',
    }


async def test_files_published_before_never_take_the_store_back_unless_published_again(store: Store) -> None:
    await store.publish_release(release(1), START, again=False)
    newer = await store.publish_release(release(2), START, again=False)

    # An instance started on older files (an older image) finds the newer release current.
    assert await store.publish_release(release(1), START, again=False) == newer
    assert await store.release_head() == newer
    # The operator publishing them (esim-bot reload) means it: they become current, as a new release.
    again = await store.publish_release(release(1), START, again=True)
    assert again.digest == "digest-1"
    assert again.number > newer.number
    assert await store.release_head() == again


async def test_publishing_the_current_files_again_changes_nothing(store: Store) -> None:
    head = await store.publish_release(release(1), START, again=False)

    assert await store.publish_release(release(1), START, again=True) == head
    assert await store.publish_release(release(1), START, again=False) == head


async def test_a_text_edit_is_a_release_of_the_same_flow_version(store: Store) -> None:
    await store.publish_release(release(1, "v1"), START, again=False)
    reworded = await store.publish_release(release(2, "v1"), START, again=False)

    assert reworded.digest == "digest-2"
    assert reworded.version == "v1"
    assert await store.flow_history("cancel_esim") == {"v1": '{"version": "v1"}'}


async def test_instances_publishing_at_once_agree_on_one_current_release(new_store: StoreFactory) -> None:
    stores = [new_store() for _ in range(3)]
    for store in stores:
        await store.open()
    try:
        heads = await asyncio.gather(
            *(store.publish_release(release(7), START, again=False) for store in stores)
        )
        assert len(set(heads)) == 1, "each saw the first one's release, none published it twice"
        later = await asyncio.gather(*(store.release_head() for store in stores))
        assert set(later) == set(heads)
    finally:
        for store in stores:
            await store.close()


async def test_old_releases_keep_their_digest_but_not_their_files_and_old_meanings_go(store: Store) -> None:
    for number in range(KEPT_RELEASES + 5):
        await store.publish_release(release(number), START + timedelta(minutes=number), again=False)

    history = await store.flow_history("cancel_esim")
    assert sorted(history) == sorted(f"v{number}" for number in range(5, KEPT_RELEASES + 5))
    current = await store.release_head()
    # The oldest files are forgotten, yet still known: an instance started on them does not publish them.
    assert await store.publish_release(release(0), START, again=False) == current


async def test_recorded_meanings_never_replace_those_kept(store: Store) -> None:
    await store.publish_release(release(1), START, again=False)
    await store.record_meanings("cancel_esim", "v1", '{"other": 1}', START)
    await store.record_meanings("cancel_esim", "v0", '{"version": "v0"}', START - timedelta(days=1))

    assert await store.flow_history("cancel_esim") == {
        "v0": '{"version": "v0"}',
        "v1": '{"version": "v1"}',
    }


async def test_the_current_release_survives_a_restart(new_store: StoreFactory) -> None:
    async with new_store() as store:
        head = await store.publish_release(release(3), START, again=False)
    async with new_store() as store:
        assert await store.release_head() == head
        current = await store.current_release()
        assert current is not None
        assert current.files["flows/cancel_esim.yaml"] == "draft 3"
