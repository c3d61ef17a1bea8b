"""What the routes are given, as typed `Annotated` aliases: the parts the lifespan (`app`)
builds once and stores with `parts_of` (svckit.parts)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
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
PartsDep = Annotated[Parts, Depends(parts_of.dependency)]


async def get_settings(parts: PartsDep) -> MailSettings:
    return parts.settings


async def get_composer(parts: PartsDep) -> Composer:
    return parts.composer


async def get_mailer(parts: PartsDep) -> Mailer:
    return parts.mailer


SettingsDep = Annotated[MailSettings, Depends(get_settings)]
ComposerDep = Annotated[Composer, Depends(get_composer)]
MailerDep = Annotated[Mailer, Depends(get_mailer)]
