"""The honest clients: while an attack runs, each other door is called again and again (the
logger's HTTP `/ping` and a real write on its HTTP, gRPC and net/rpc doors, the broker's
`/ping`, another user's login at the authentication service), every answer a `Call`."""

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable

import grpc
import httpx
from devkit.callers import Call, Callers, failure
from devkit.system import LocalSystem
from logs_proto import logs_pb2, logs_pb2_grpc
from pymongo import AsyncMongoClient
from svckit import jsonrpc

# A door must answer within this long while an attack runs.
DEADLINE = 1.0
# A call is given up this long after it began (a frozen door is reported as how long it hid).
GIVE_UP = 3.0
PACE = 0.2
# The honest user, made by the suite (`add_user`), and the address it logs in from.
USER_EMAIL = "honest@example.com"
USER_PASSWORD = "honest-password"
USER_ADDRESS = "10.77.0.1"
WRITE_NAME = "hostile-honest"


async def add_user(dsn: str) -> None:
    """The honest user, next to the seed's admin. Its hash has bcrypt's least cost, so that
    its login measures the door, not bcrypt on a busy machine."""
    import asyncpg
    import bcrypt

    digest = bcrypt.hashpw(USER_PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(
            "INSERT INTO users (email, first_name, last_name, password, user_active, created_at,"
            " updated_at) VALUES ($1, 'Honest', 'User', $2, 1, now(), now())"
            " ON CONFLICT (email) DO NOTHING",
            USER_EMAIL,
            digest,
        )
    finally:
        await conn.close()


class Doors(Callers):
    """Every door probed by one caller each, every `PACE` seconds; `written` holds the data of
    each write a door acknowledged (to be found stored afterwards)."""

    def __init__(self, system: LocalSystem) -> None:
        self.system = system
        self.written: list[str] = []
        self._seq = itertools.count()
        self._http = httpx.AsyncClient(trust_env=False, limits=httpx.Limits(keepalive_expiry=1.0))
        self._channel = grpc.aio.insecure_channel(f"127.0.0.1:{system.ports['logger_grpc']}")
        self._grpc = logs_pb2_grpc.LogServiceStub(self._channel)
        logger, broker, auth = (self._url(n) for n in ("logger", "broker", "auth"))
        probes: dict[str, Callable[[], Awaitable[Call]]] = {
            "logger /ping": lambda: self._get("logger /ping", f"{logger}/ping"),
            "logger HTTP write": self._http_write,
            "logger gRPC write": self._grpc_write,
            "logger net/rpc write": self._rpc_write,
            "broker /ping": lambda: self._get("broker /ping", f"{broker}/ping"),
            "auth login": lambda: self._login(f"{auth}/authenticate"),
        }
        super().__init__(probes, callers=1, pace=PACE)

    def _url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.system.ports[name]}"

    async def aclose(self) -> None:
        """The clients closed (`stop()` only ends the calling; `once()` still works after it)."""
        await super().stop()
        await self._http.aclose()
        await self._channel.close()

    def _data(self) -> str:
        return f"honest {next(self._seq)} {uuid.uuid4().hex}"

    async def _timed(self, name: str, call: Awaitable[tuple[bool, str]], data: str = "") -> Call:
        began = time.monotonic()
        try:
            ok, message = await asyncio.wait_for(call, GIVE_UP)
        except TimeoutError:
            return Call(name, began, time.monotonic() - began, None, "no answer")
        except (OSError, httpx.TransportError, grpc.aio.AioRpcError) as exc:
            took = time.monotonic() - began
            return Call(name, began, took, None, "failed", failure(exc)[:300])
        took = time.monotonic() - began
        if ok and data:
            self.written.append(data)
        return Call(name, began, took, 200 if ok else None, "ok" if ok else "error", message)

    async def _http_status(self, method: str, url: str, **kwargs: object) -> tuple[bool, str]:
        resp = await self._http.request(method, url, timeout=GIVE_UP, **kwargs)  # type: ignore[arg-type]
        return resp.is_success, f"{resp.status_code} {resp.text[:100]}"

    def _get(self, name: str, url: str) -> Awaitable[Call]:
        return self._timed(name, self._http_status("GET", url))

    def _login(self, url: str) -> Awaitable[Call]:
        body = {"email": USER_EMAIL, "password": USER_PASSWORD}
        headers = {"X-Forwarded-For": USER_ADDRESS}
        return self._timed("auth login", self._http_status("POST", url, json=body, headers=headers))

    def _http_write(self) -> Awaitable[Call]:
        data = self._data()
        url = f"{self._url('logger')}/log"
        call = self._http_status("POST", url, json={"name": WRITE_NAME, "data": data})
        return self._timed("logger HTTP write", call, data)

    def _grpc_write(self) -> Awaitable[Call]:
        data = self._data()

        async def write() -> tuple[bool, str]:
            entry = logs_pb2.Log(name=WRITE_NAME, data=data)
            reply = await self._grpc.WriteLog(logs_pb2.LogRequest(logEntry=entry), timeout=GIVE_UP)
            return reply.result == "logged!", reply.result

        return self._timed("logger gRPC write", write(), data)

    def _rpc_write(self) -> Awaitable[Call]:
        data = self._data()

        async def write() -> tuple[bool, str]:
            reply = await rpc_call(
                self.system, "RPCServer.LogInfo", {"Name": WRITE_NAME, "Data": data}
            )
            # No reply at all (the door closed the connection) is no acknowledgement.
            acknowledged = "result" in reply and reply.get("error") is None
            return acknowledged, str(reply.get("error") or reply.get("result") or "no reply")

        return self._timed("logger net/rpc write", write(), data)


async def rpc_call(system: LocalSystem, method: str, arg: object) -> dict[str, object]:
    """One JSON-RPC call on a connection of its own; the reply (an empty dict when the door
    closed the connection without one)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", system.ports["logger_rpc"])
    try:
        writer.write(jsonrpc.request(method, arg, 1))
        decoder = jsonrpc.StreamDecoder()
        while chunk := await reader.read(65536):
            for reply in decoder.feed(chunk):
                return reply
        return {}
    finally:
        writer.close()


async def stored(system: LocalSystem, datas: list[str], timeout: float = 10.0) -> set[str]:
    """Which of `datas` are stored (by the `data` field), once all are or after `timeout`."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(system.mongo_url)
    logs = client[system.mongo_database]["logs"]
    deadline = time.monotonic() + timeout
    try:
        while True:
            docs = await logs.find({"data": {"$in": datas}}, {"data": 1}).to_list()
            found = {str(d["data"]) for d in docs}
            if found >= set(datas) or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.2)
    finally:
        await client.close()
