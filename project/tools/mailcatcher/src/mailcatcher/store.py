"""The caught messages, in memory: the newest `capacity` of them.

The SMTP server adds from the catcher's event loop while a test may read from its own thread,
so every access holds a lock.
"""

import base64
import email
import email.policy
import os
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage


def _new_id() -> str:
    # MailHog's IDs look like this: random URL-safe base64 at its own host name.
    return base64.urlsafe_b64encode(os.urandom(24)).decode() + "@mailhog.example"


@dataclass(frozen=True)
class CaughtMessage:
    """One message as the SMTP session delivered it: the envelope and the raw bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    helo: str
    raw: bytes
    id: str = field(default_factory=_new_id)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def parsed(self) -> EmailMessage:
        """The message parsed by the standard `email` package (modern policy)."""
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


class MessageStore:
    def __init__(self, capacity: int = 1000) -> None:
        self._messages: deque[CaughtMessage] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def add(self, message: CaughtMessage) -> None:
        with self._lock:
            self._messages.append(message)

    def newest_first(self) -> list[CaughtMessage]:
        with self._lock:
            return list(reversed(self._messages))

    def get(self, message_id: str) -> CaughtMessage | None:
        with self._lock:
            return next((m for m in self._messages if m.id == message_id), None)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def delete(self, message_id: str) -> bool:
        with self._lock:
            for message in self._messages:
                if message.id == message_id:
                    self._messages.remove(message)
                    return True
            return False
