"""The broker's HTTP downstreams (auth, mail, the logger's HTTP door) on the kit's client
(`svckit.http_client`: the pool, the deadlines, the error mapping, the answer cap)."""

from svckit.http_client import Downstream as KitDownstream
from svckit.http_client import HttpClient

from broker_service.settings import DOWNSTREAM_ANSWER_MAX


class HttpPool:
    """The process's one HTTP client; made when the lifespan starts, closed at shutdown."""

    def __init__(self, max_connections: int, answer_max: int = DOWNSTREAM_ANSWER_MAX) -> None:
        self._max_connections = max_connections
        self.answer_max = answer_max
        self._client: HttpClient | None = None

    async def start(self) -> None:
        self._client = HttpClient(self._max_connections, answer_max=self.answer_max)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    @property
    def client(self) -> HttpClient:
        if self._client is None:
            raise RuntimeError("the HTTP pool is not started")
        return self._client


class Downstream(KitDownstream):
    """One HTTP service behind the broker: its name (for messages), base URL and deadline."""

    def __init__(self, pool: HttpPool, name: str, base_url: str, timeout: float) -> None:
        super().__init__(pool.client, name, base_url, timeout)
