"""What the routes are given, as typed `Annotated` aliases: the parts the lifespan (`app`)
builds once and keeps in `app.state.parts`."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from mail_service.composer import Composer
from mail_service.mailer import Mailer
from mail_service.settings import MailSettings


@dataclass(frozen=True)
class Parts:
    settings: MailSettings
    composer: Composer
    mailer: Mailer


# `async`: FastAPI would run a plain `def` dependency in its thread pool, a hop per request.
async def get_parts(request: Request) -> Parts:
    parts: Parts = request.app.state.parts
    return parts


PartsDep = Annotated[Parts, Depends(get_parts)]


async def get_settings(parts: PartsDep) -> MailSettings:
    return parts.settings


async def get_composer(parts: PartsDep) -> Composer:
    return parts.composer


async def get_mailer(parts: PartsDep) -> Mailer:
    return parts.mailer


SettingsDep = Annotated[MailSettings, Depends(get_settings)]
ComposerDep = Annotated[Composer, Depends(get_composer)]
MailerDep = Annotated[Mailer, Depends(get_mailer)]
