"""A caught message in the JSON shape of MailHog's API (`GET /api/v2/messages`).

Bodies stay as they travelled (still quoted-printable or base64), as MailHog shows them;
header values are unfolded, and each header name maps to the list of its values.
"""

import email
import email.policy
import re
from email.message import Message
from typing import Any

from mailcatcher.store import CaughtMessage

_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _path(address: str) -> dict[str, Any]:
    mailbox, _, domain = address.rpartition("@")
    if not mailbox:  # no "@": a bare name such as "postmaster"
        mailbox, domain = domain, ""
    return {"Relays": None, "Mailbox": mailbox, "Domain": domain, "Params": ""}


def _headers(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.items():
        headers.setdefault(name, []).append(_FOLD.sub("", str(value)))
    return headers


def _mime(message: Message) -> dict[str, Any] | None:
    """MailHog's `MIME`: the parts of a multipart message (nested ones too), else null."""
    if not message.is_multipart():
        return None
    parts = []
    for part in message.get_payload():
        assert isinstance(part, Message)
        body = "" if part.is_multipart() else str(part.get_payload())
        parts.append(
            {
                "Headers": _headers(part),
                "Body": body,
                "Size": len(part.as_string()),
                "MIME": _mime(part),
            }
        )
    return {"Parts": parts}


def _split_body(data: str) -> str:
    for separator in ("\r\n\r\n", "\n\n"):
        _, found, body = data.partition(separator)
        if found:
            return body
    return ""


def to_mailhog(caught: CaughtMessage) -> dict[str, Any]:
    data = caught.raw.decode("utf-8", errors="replace")
    # compat32 keeps bodies and header values as they were sent, which is what MailHog shows.
    message = email.message_from_string(data, policy=email.policy.compat32)
    mime = _mime(message)
    return {
        "ID": caught.id,
        "From": _path(caught.mail_from),
        "To": [_path(r) for r in caught.rcpt_tos],
        "Content": {
            "Headers": _headers(message),
            "Body": _split_body(data),
            "Size": len(data),
            "MIME": None,
        },
        "Created": caught.created.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "MIME": mime,
        "Raw": {
            "From": caught.mail_from,
            "To": list(caught.rcpt_tos),
            "Data": data,
            "Helo": caught.helo,
        },
    }


def page_view(caught: CaughtMessage) -> dict[str, str]:
    """What the page shows of a message: its headers, its HTML and its text, decoded."""
    view = {"id": caught.id, "created": caught.created.strftime("%Y-%m-%d %H:%M:%S UTC")}
    try:
        message = caught.parsed()
        html = message.get_body(preferencelist=("html",))
        text = message.get_body(preferencelist=("plain",))
        view |= {
            "subject": str(message.get("Subject", "")),
            "from": str(message.get("From", caught.mail_from)),
            "to": str(message.get("To", ", ".join(caught.rcpt_tos))),
            "date": str(message.get("Date", "")),
            "html": str(html.get_content()) if html is not None else "",
            "text": str(text.get_content()) if text is not None else "",
        }
    except Exception as exc:  # a malformed message is still listed, with its raw text
        view |= {
            "subject": f"(cannot parse: {exc})",
            "from": caught.mail_from,
            "to": ", ".join(caught.rcpt_tos),
            "date": "",
            "html": "",
            "text": caught.raw.decode("utf-8", errors="replace"),
        }
    return view
