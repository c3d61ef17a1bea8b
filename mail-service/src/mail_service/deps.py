"""The parts the lifespan (`app`) builds once and stores with `parts_of` (svckit.parts); the
one route, `POST /send`, reads them itself, so FastAPI has nothing to resolve per mail (it is
a lean route: `svckit.lean_routes`)."""

from dataclasses import dataclass

from svckit.parts import Part

from mail_service.composer import Composer
from mail_service.mailer import Mailer
from mail_service.settings import MailSettings


@dataclass(frozen=True)
class Parts:
    settings: MailSettings
    composer: Composer
    mailer: Mailer


parts_of = Part[Parts]("parts")
