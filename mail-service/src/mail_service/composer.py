"""Turns a message into one `multipart/alternative` mail: the plain text first, then the HTML.

The HTML template's `<style>` is inlined once, at start: only the subject and the message vary,
and both land in text nodes, so each mail is the inlined document with its two texts escaped
as the inliner's serializer escapes text. Texts the HTML parser would rewrite (a CR, a NUL, a
lone surrogate) take the inliner per message instead, so the bytes are the same either way.

The mail is what the `email` package's MIME classes (compat32) give once flattened, as the
service sent them before: `compose_message` builds it so, and `compose` writes the same bytes
straight from the fixed structure, folding and encoding each value with the package's own
functions, for a third of the cost (a property test holds the two equal). Header values arrive
checked (no line breaks, valid addresses), which is what the modern API would add.

`compose_off_loop` is what the service calls: a big mail is composed on a worker thread, so it
cannot hold up the other requests; a small one (the usual) is composed at once, for less than
the hop to a thread would cost.
"""

import asyncio
import functools
import io
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

# Quoted-printable keeps mostly-ASCII text readable in raw form, unlike base64.
UTF8 = Charset("utf-8")
UTF8.body_encoding = QP


COMPAT32 = policy.compat32
_FROM_LINE = re.compile(r"^From ", re.MULTILINE)


@dataclass(frozen=True)
class Stamp:
    """What differs between two mails of the same text: their boundary, date and id."""

    boundary: str
    date: str
    message_id: str


# What the HTML parser changes in a text node (CR and CRLF become LF, NUL is dropped or
# replaced) or cannot take (a lone surrogate): such texts are inlined per message.
_REWRITTEN = re.compile("[\x00\r\ud800-\udfff]")
# The inliner's serializer escapes these four in text (html5ever's rule); `"` and `'` stay.
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "\xa0": "&nbsp;", "<": "&lt;", ">": "&gt;"})


# Up to this many characters of subject and message, composing takes at most ~1 ms (4-byte
# characters; ~0.15 ms for plain text, about what the hop to a thread costs): done in place.
COMPOSE_IN_PLACE_MAX = 1024
# A subject this long fits the first line of its header (78 characters): it is never folded.
_SUBJECT_FITS = 78 - len("Subject: ")


def _header_text(value: str) -> str | Header:
    # RFC 2047 encoding only where it is needed: ASCII stays as it is.
    return value if value.isascii() else Header(value, UTF8)


def _subject_text(value: str) -> str | Header:
    """The subject as `_header_text`, unless folding it as ASCII would change it: compat32
    folds a long line at its spaces but also after `,` and `;`, and puts a first word too long
    for the first line on the next one; both add a space the recipient sees. RFC 2047 words
    fold anywhere, and decode to the text as it was."""
    if len(value) <= _SUBJECT_FITS or not value.isascii():
        return _header_text(value)
    unfolded = _fold_text("Subject", value).replace(b"\n", b"")
    return value if unfolded == b"Subject: " + value.encode() else Header(value, UTF8)


class Composer:
    """Renders the templates in `templates/` and builds the message with its headers."""

    def __init__(self, domain: str, from_name: str) -> None:
        self._domain = domain
        self._from_name = from_name
        env = Environment(
            loader=PackageLoader("mail_service", "templates"),
            # The HTML must escape the message; the plain text must carry it as it is.
            autoescape=select_autoescape(enabled_extensions=("html.jinja",), default=False),
            undefined=StrictUndefined,
        )
        self._html = env.get_template("mail.html.jinja")
        self._plain = env.get_template("mail.plain.jinja")
        self._inliner = css_inline.CSSInliner(load_remote_stylesheets=False)
        self._inlined = self._inline_once()
        # Each part's header block, as the generator writes it (an empty part is just that).
        self._part_headers = {sub: flatten(_part("", sub)) for sub in ("plain", "html")}
        # One thread: composing holds the GIL, so more threads would only take turns with the
        # event loop's. Started on the first big mail.
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="compose")

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _inline_once(self) -> tuple[str, str, str]:
        """The inlined document cut around its two texts: (before subject, between, after)."""
        marks = f"subject{secrets.token_hex(8)}", f"message{secrets.token_hex(8)}"
        document = self.inline_per_message(*marks)
        head, rest = document.split(marks[0])
        middle, tail = rest.split(marks[1])
        return head, middle, tail

    def inline_per_message(self, subject: str, message: str) -> str:
        """Render, then inline: what `render_html` gives, at the inliner's cost per call."""
        return str(self._inliner.inline(self._html.render(subject=subject, message=message)))

    def render_html(self, subject: str, message: str) -> str:
        """The HTML document with its `<style>` block moved into `style` attributes."""
        if _REWRITTEN.search(subject) or _REWRITTEN.search(message):
            return self.inline_per_message(subject, message)
        head, middle, tail = self._inlined
        return (
            head
            + subject.translate(_TEXT_ESCAPES)
            + middle
            + message.translate(_TEXT_ESCAPES)
            + tail
        )

    def render_plain(self, message: str) -> str:
        return self._plain.render(message=message)

    def stamp(self) -> Stamp:
        # "=_" never occurs in quoted-printable text, so no part can contain this boundary (and
        # the generator need not search them for one, which costs a regex per message).
        return Stamp(
            boundary=f"=_{secrets.token_hex(16)}",
            date=format_datetime(datetime.now(UTC)),
            message_id=make_msgid(domain=self._domain),
        )

    def _headers(self, sender: str, to: str, subject: str, stamp: Stamp) -> list[Any]:
        return [
            ("From", formataddr((self._from_name, sender), charset=UTF8)),
            ("To", to),
            ("Subject", _subject_text(subject)),
            ("Date", stamp.date),
            ("Message-ID", stamp.message_id),
        ]

    def compose(
        self, sender: str, to: str, subject: str, message: str, stamp: Stamp | None = None
    ) -> bytes:
        """The mail as `compose_message` flattened by aiosmtplib (compat32) gives it, byte for
        byte, at a third of the cost: the structure is fixed, so only the values are encoded
        (by the `email` package's own folding and quoted-printable encoder)."""
        stamp = stamp or self.stamp()
        boundary = stamp.boundary.encode()
        top = [
            ("Content-Type", f'multipart/alternative; boundary="{stamp.boundary}"'),
            ("MIME-Version", "1.0"),
            *self._headers(sender, to, subject, stamp),
        ]
        out = [_fold(name, value) for name, value in top]
        out.append(b"\n--" + boundary + b"\n")
        for n, (body, subtype) in enumerate(self._bodies(subject, message)):
            if n:
                out.append(b"\n--" + boundary + b"\n")
            out.append(self._part_headers[subtype])
            # The generator's compat32 rule: a line starting "From " is written ">From ".
            out.append(_FROM_LINE.sub(">From ", UTF8.body_encode(body)).encode("ascii"))
        out.append(b"\n--" + boundary + b"--\n")
        return b"".join(out)

    async def compose_off_loop(
        self, sender: str, to: str, subject: str, message: str, stamp: Stamp | None = None
    ) -> bytes:
        """`compose`'s bytes, composed on the worker thread unless the texts are small."""
        if len(subject) + len(message) <= COMPOSE_IN_PLACE_MAX:
            return self.compose(sender, to, subject, message, stamp)
        loop = asyncio.get_running_loop()
        compose = functools.partial(self.compose, sender, to, subject, message, stamp)
        return await loop.run_in_executor(self._worker, compose)

    def compose_message(
        self, sender: str, to: str, subject: str, message: str, stamp: Stamp | None = None
    ) -> MIMEMultipart:
        """The same mail built with the `email` package's classes: what `compose` must equal."""
        stamp = stamp or self.stamp()
        mail = MIMEMultipart("alternative", boundary=stamp.boundary)
        for name, value in self._headers(sender, to, subject, stamp):
            mail[name] = value
        for body, subtype in self._bodies(subject, message):
            mail.attach(_part(body, subtype))
        return mail

    def _bodies(self, subject: str, message: str) -> tuple[tuple[str, str], ...]:
        return (
            (self.render_plain(message), "plain"),
            (self.render_html(subject, message), "html"),
        )


@functools.lru_cache(maxsize=1024)
def _fold_text(name: str, value: str) -> bytes:
    return COMPAT32.fold_binary(name, value)


def _fold(name: str, value: str | Header) -> bytes:
    """A header line as the generator writes it; a text value's is kept (the sender, the
    MIME-Version, this second's Date, a recurring subject or recipient are folded once)."""
    if type(value) is str:
        return _fold_text(name, value)
    return COMPAT32.fold_binary(name, value)  # type: ignore[arg-type]


def _part(body: str, subtype: str) -> MIMEText:
    # MIMEText documents a Charset instance as `_charset`; typeshed only knows str.
    part = MIMEText(body, subtype, UTF8)  # type: ignore[arg-type]
    # MIMEText gives every part a MIME-Version; it belongs on the message only.
    del part["MIME-Version"]
    return part


def flatten(mail: Message) -> bytes:
    """What aiosmtplib sends for a compat32 message (its `flatten_message`)."""
    with io.BytesIO() as out:
        BytesGenerator(out, policy=COMPAT32).flatten(mail)
        return out.getvalue()
