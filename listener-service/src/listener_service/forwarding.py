"""Entries to the logger in batches: those that wait while a forward is in flight go together
in the next (`POST /logs`, at most `BATCH_MAX`; a lone one goes at once by `POST /log`, no
timer), and each still gets its own entry's answer."""

import logging

from svckit.batching import GroupCommit

from listener_service import metrics
from listener_service.logger_client import Answer, LoggerClient, Verdict
from listener_service.settings import ListenerSettings

log = logging.getLogger(__name__)


class Forwarder:
    """Also says in the log, once each way, when the logger goes away and comes back."""

    def __init__(self, logger: LoggerClient, settings: ListenerSettings) -> None:
        self.logger = logger
        self._logger_url = settings.logger_url
        self._logger_down = False
        self._batches: GroupCommit[bytes, Answer] = GroupCommit(
            self._forward_batch, settings.batch_max, settings.forwards_in_flight
        )

    async def submit(self, entry: bytes) -> Answer:
        """This entry's answer from the logger (it may have gone with others)."""
        answer = await self._batches.submit(entry)
        if answer.verdict is Verdict.STORED and self._logger_down:
            self._logger_down = False
            log.info("the logger at %s answers again", self._logger_url)
        elif answer.verdict is Verdict.UNAVAILABLE and not self._logger_down:
            self._logger_down = True
            log.warning("the logger is unavailable (%s); holding events", answer.detail)
        return answer

    async def _forward_batch(self, entries: list[bytes]) -> list[Answer]:
        metrics.forwarded(len(entries))
        return await self.logger.write_batch(entries)
