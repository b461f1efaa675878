"""Preview links: signed for one image, short-lived, and signed again whenever they go out."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from chatkit.types import (
    FileAttachment,
    ImageAttachment,
    InferenceOptions,
    Page,
    Thread,
    UserMessageItem,
    UserMessageTextContent,
)
from pydantic import AnyUrl

from backend.attachments.previews import PreviewLinks, current_base_url
from backend.tokens import PREVIEW, TokenAuthority

TOKENS = TokenAuthority("s" * 64)
BASE = "http://127.0.0.1:8765"


def token_of(url: object) -> str:
    return parse_qs(urlsplit(str(url)).query)["token"][0]


def message_with(*attachments: ImageAttachment | FileAttachment) -> UserMessageItem:
    return UserMessageItem(
        id="msg_1",
        thread_id="thr_1",
        created_at=datetime.now(),
        content=[UserMessageTextContent(text="look")],
        attachments=list(attachments),
        inference_options=InferenceOptions(),
    )


def stale_image(attachment_id: str) -> ImageAttachment:
    stale = TOKENS.issue_capability(PREVIEW, attachment_id, -10)  # expired
    url = f"{BASE}/chatkit/attachments/{attachment_id}/content?token={stale}"
    return ImageAttachment(id=attachment_id, name="a.png", mime_type="image/png", preview_url=url)


def test_a_link_opens_its_own_image_only_and_not_for_long() -> None:
    url = PreviewLinks(TOKENS).url(BASE, "atc_1")
    assert url.startswith(f"{BASE}/chatkit/attachments/atc_1/content?token=")
    token = token_of(url)
    assert TOKENS.allows(token, PREVIEW, "atc_1")
    assert not TOKENS.allows(token, PREVIEW, "atc_2")
    assert not TOKENS.allows(token, "upload", "atc_1")
    expired = TOKENS.issue_capability(PREVIEW, "atc_1", -1)
    assert not TOKENS.allows(expired, PREVIEW, "atc_1")
    # Nor is a capability an access token.
    assert not TOKENS.allows(TOKENS.issue("alice", 60), PREVIEW, "atc_1")


def test_a_reloaded_thread_gets_fresh_links_on_its_way_out() -> None:
    image = stale_image("atc_1")
    document = FileAttachment(id="atc_2", name="a.pdf", mime_type="application/pdf")
    thread = Thread(
        id="thr_1",
        created_at=datetime.now(),
        items=Page(data=[message_with(image, document)]),
    )
    assert not TOKENS.allows(token_of(image.preview_url), PREVIEW, "atc_1")

    PreviewLinks(TOKENS).refresh(thread)

    refreshed = thread.items.data[0].attachments[0]
    assert TOKENS.allows(token_of(refreshed.preview_url), PREVIEW, "atc_1")
    assert str(refreshed.preview_url).startswith(f"{BASE}/chatkit/attachments/atc_1/content?")


def test_a_page_of_items_gets_fresh_links_too() -> None:
    page = Page(data=[message_with(stale_image("atc_1"))])
    PreviewLinks(TOKENS).refresh(page)
    assert TOKENS.allows(token_of(page.data[0].attachments[0].preview_url), PREVIEW, "atc_1")


def test_a_link_that_is_not_ours_is_left_alone() -> None:
    url = "https://cdn.example.com/a.png"
    image = ImageAttachment(id="atc_1", name="a.png", mime_type="image/png", preview_url=url)
    PreviewLinks(TOKENS).refresh(image)
    assert image.preview_url == AnyUrl(url)


def test_links_go_out_pointing_where_the_client_reaches_the_server_now() -> None:
    image = stale_image("atc_1")  # made when the server was on 8765
    token = current_base_url.set("http://localhost:9000")
    try:
        PreviewLinks(TOKENS).refresh(image)
    finally:
        current_base_url.reset(token)
    assert str(image.preview_url).startswith("http://localhost:9000/chatkit/attachments/atc_1/")
