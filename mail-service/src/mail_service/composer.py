"""Turns a message into one `multipart/alternative` mail: the plain text first, then the HTML.

The HTML template's `<style>` is inlined once, at start: only the subject and the message vary,
and both land in text nodes, so each mail is the inlined document with its two texts escaped
as the inliner's serializer escapes text. Texts the HTML parser would rewrite (a CR, a NUL, a
lone surrogate) take the inliner per message instead, so the bytes are the same either way.

Built with the `email` package's MIME classes (the compat32 policy): per message they cost a
tenth of `EmailMessage`, whose header registry parses every header it is given. Header values
arrive checked (no line breaks, valid addresses), which is what the modern API would add.
"""

import re
import secrets
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

# Quoted-printable keeps mostly-ASCII text readable in raw form, unlike base64.
UTF8 = Charset("utf-8")
UTF8.body_encoding = QP


# What the HTML parser changes in a text node (CR and CRLF become LF, NUL is dropped or
# replaced) or cannot take (a lone surrogate): such texts are inlined per message.
_REWRITTEN = re.compile("[\x00\r\ud800-\udfff]")
# The inliner's serializer escapes these four in text (html5ever's rule); `"` and `'` stay.
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "\xa0": "&nbsp;", "<": "&lt;", ">": "&gt;"})


def _header_text(value: str) -> str | Header:
    # RFC 2047 encoding only where it is needed: ASCII stays as it is.
    return value if value.isascii() else Header(value, UTF8)


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

    def compose(self, sender: str, to: str, subject: str, message: str) -> MIMEMultipart:
        # "=_" never occurs in quoted-printable text, so no part can contain this boundary (and
        # the generator need not search them for one, which costs a regex per message).
        mail = MIMEMultipart("alternative", boundary=f"=_{secrets.token_hex(16)}")
        mail["From"] = formataddr((self._from_name, sender), charset=UTF8)
        mail["To"] = to
        # compat32 messages take Header objects; typeshed only knows str.
        mail["Subject"] = _header_text(subject)  # type: ignore[assignment]
        mail["Date"] = format_datetime(datetime.now(UTC))
        mail["Message-ID"] = make_msgid(domain=self._domain)
        for body, subtype in (
            (self.render_plain(message), "plain"),
            (self.render_html(subject, message), "html"),
        ):
            # MIMEText documents a Charset instance as `_charset`; typeshed only knows str.
            part = MIMEText(body, subtype, UTF8)  # type: ignore[arg-type]
            # MIMEText gives every part a MIME-Version; it belongs on the message only.
            del part["MIME-Version"]
            mail.attach(part)
        return mail
