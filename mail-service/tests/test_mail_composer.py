"""The HTML part, inlined once at start: the same bytes as inlining every message would give."""

import threading
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

import css_inline
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mail_service.composer import COMPOSE_IN_PLACE_MAX, Composer, flatten
from mail_service.models import MESSAGE_MAX, SUBJECT_MAX

COMPOSER = Composer("mail.example.com", "Jane Sender")
# Texts the HTML parser reads as they are, and the ones it rewrites (CR, NUL): both must match.
ODD = st.sampled_from(["&", "<", ">", '"', "'", "\xa0", "\r", "\r\n", "\n", "\x00", "&amp;"])
TEXT = st.one_of(st.text(), st.lists(st.one_of(ODD, st.text(max_size=3))).map("".join))


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("Test email", "Hello world!"),
        ("Grüße ✓", 'Hello <b>world</b> & "friends"\nsecond line, Grüße'),
        ("a&b<c>", "tabs\tand\xa0no-break spaces, 'quotes', &amp; an entity's text"),
        ("crlf", "one\r\ntwo\rthree\n"),
        ("nul", "a\x00b"),
        ("", ""),
        ("😀", "\n\n  leading and trailing  \n"),
    ],
)
def test_html_is_byte_for_byte_what_inlining_each_message_gives(subject: str, message: str) -> None:
    assert COMPOSER.render_html(subject, message) == COMPOSER.inline_per_message(subject, message)


@settings(max_examples=300)
@given(subject=TEXT.filter(lambda s: "\r" not in s and "\n" not in s), message=TEXT)
def test_any_text_renders_as_inlining_it_would(subject: str, message: str) -> None:
    assert COMPOSER.render_html(subject, message) == COMPOSER.inline_per_message(subject, message)


def test_the_message_is_escaped_inside_the_inlined_paragraph() -> None:
    html = COMPOSER.render_html("s", "<script>alert(1)</script> & more")

    assert "<style" not in html
    assert (
        '<p style="margin: 0 0 12px;font-size: 14px;line-height: 1.5;white-space: pre-wrap;">'
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</p>"
    ) in html


def html_of(mail: Message) -> str:
    *_, html = mail.walk()  # the message, its text part, its HTML part
    payload = html.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


class CountingInliner:
    """The real inliner, counting its calls."""

    def __init__(self, inliner: css_inline.CSSInliner) -> None:
        self.inliner = inliner
        self.calls = 0

    def inline(self, html: str) -> str:
        self.calls += 1
        return str(self.inliner.inline(html))


def test_the_css_is_inlined_once_not_per_message() -> None:
    composer = Composer("mail.example.com", "Jane Sender")
    counting = CountingInliner(composer._inliner)
    composer._inliner = counting  # type: ignore[assignment]

    mails = [
        message_from_bytes(composer.compose("me@example.com", "you@there.com", "s", f"m{n}"))
        for n in range(5)
    ]
    after_five = counting.calls
    composer.compose("me@example.com", "you@there.com", "s", "a CR\r the parser rewrites")

    assert after_five == 0
    assert counting.calls == 1
    html_parts = [html_of(mail) for mail in mails]
    assert html_parts == [COMPOSER.inline_per_message("s", f"m{n}") for n in range(5)]


ADDRESS = st.emails().filter(lambda a: len(a) < 200)
ONE_LINE = TEXT.filter(lambda s: "\r" not in s and "\n" not in s)


@settings(max_examples=200)
@given(
    name=ONE_LINE,
    sender=ADDRESS,
    to=ADDRESS,
    subject=ONE_LINE,
    message=TEXT.filter(str.isprintable) | TEXT,
)
def test_the_mail_is_byte_for_byte_what_the_email_package_builds(
    name: str, sender: str, to: str, subject: str, message: str
) -> None:
    composer = Composer("mail.example.com", name)
    stamp = composer.stamp()

    built = composer.compose(sender, to, subject, message, stamp)

    assert built == flatten(composer.compose_message(sender, to, subject, message, stamp))


@pytest.mark.parametrize(
    "message",
    ["Hello", "From here on\nFrom me\n>From you", "x" * 300, "é" * 100 + "\r\n.\n", ""],
)
def test_long_lines_from_lines_and_non_ascii_match_the_email_package(message: str) -> None:
    stamp = COMPOSER.stamp()
    subject = "Grüße " * 20  # folded over several lines, RFC 2047-encoded

    built = COMPOSER.compose("me@example.com", "you@there.com", subject, message, stamp)

    reference = COMPOSER.compose_message("me@example.com", "you@there.com", subject, message, stamp)
    assert built == flatten(reference)
    assert message_from_bytes(built).get_content_type() == "multipart/alternative"


# Subjects of up to the most characters, with what folding finds hard: long words, `,` and `;`
# (compat32 folds after them), spaces and tabs, non-ASCII.
PIECES = st.sampled_from([" ", "\t", ",", ";", "x", "é", "😀", "b" * 80, "c" * 400])
LONG_SUBJECT = st.lists(PIECES | ONE_LINE).map(lambda parts: "".join(parts)[:SUBJECT_MAX])


@settings(max_examples=300)
@given(subject=LONG_SUBJECT | st.just(" " * SUBJECT_MAX) | st.just("x" * SUBJECT_MAX))
def test_every_header_line_stays_within_998_characters(subject: str) -> None:
    head, _ = COMPOSER.compose("me@example.com", "you@there.com", subject, "m").split(b"\n\n", 1)

    assert max(len(line) for line in head.split(b"\n")) <= 998


READABLE = st.text(st.characters(categories=["L", "N", "P", "S"]), max_size=5)


@settings(max_examples=300)
@given(
    subject=st.lists(PIECES | READABLE)
    .map(lambda parts: "".join(parts)[:SUBJECT_MAX].strip())
    .filter(lambda s: "=?" not in s)
)
def test_a_long_subject_reads_as_it_was_sent(subject: str) -> None:
    # Leading or trailing blanks, control characters and `=?` (an encoded word's start) are
    # read differently by RFC 5322 parsers, whatever the sender does; folding must change
    # nothing else.
    mail = COMPOSER.compose("me@example.com", "you@there.com", subject, "m")

    assert message_from_bytes(mail, policy=policy.default)["Subject"] == subject


@pytest.mark.parametrize(
    "message", ["small", "x" * (COMPOSE_IN_PLACE_MAX + 1), "Grüße 😀\n" * (MESSAGE_MAX // 8)]
)
async def test_composing_off_the_loop_gives_the_same_bytes(message: str) -> None:
    stamp = COMPOSER.stamp()

    off_loop = await COMPOSER.compose_off_loop("me@there.com", "you@there.com", "s", message, stamp)

    assert off_loop == COMPOSER.compose("me@there.com", "you@there.com", "s", message, stamp)


class WatchedComposer(Composer):
    """The real composer, noting the thread each mail is composed on."""

    threads: list[threading.Thread]

    def compose(self, *args: Any, **kwargs: Any) -> bytes:
        self.threads.append(threading.current_thread())
        return super().compose(*args, **kwargs)


async def test_a_big_mail_is_composed_on_a_worker_thread_and_a_small_one_in_place() -> None:
    composer = WatchedComposer("mail.example.com", "Jane Sender")
    composer.threads = []

    await composer.compose_off_loop("me@there.com", "you@there.com", "s", "x" * MESSAGE_MAX)
    await composer.compose_off_loop("me@there.com", "you@there.com", "s", "small")
    composer.close()

    assert composer.threads[0] is not threading.current_thread()
    assert composer.threads[1] is threading.current_thread()
