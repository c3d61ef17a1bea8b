"""A line for a few slots, served round-robin across clients instead of first come, first
served, with a cap on the slots one client may hold at once: a client that queues a hundred
checks makes everyone else wait for one of them at most (none while a slot above its cap is
free), not for all of them, while a client alone still gets every slot up to its cap."""

import asyncio
from collections import Counter, deque


class FairLine:
    def __init__(self, slots: int, per_client: int = 0) -> None:
        self._free = slots
        self._per_client = per_client or slots
        self._holding: Counter[str] = Counter()
        # Each client's waiters in arrival order; the clients in the order they are next served.
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}

    async def acquire(self, client: str) -> None:
        # A free slot is never left to an eligible waiter (`_serve` hands it over at once), so
        # a free slot within the client's cap is the client's to take.
        if self._free > 0 and self._holding[client] < self._per_client:
            self._take(client)
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(client, deque()).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release(client)  # handed the slot as it was cancelled: pass it on
            else:
                self._forget(client, turn)
            raise

    def release(self, client: str) -> None:
        """`client`'s slot back: it goes to the first waiter of the client next in turn that
        is under its cap, who then goes to the back of the round; with none, it is free."""
        self._holding[client] -= 1
        if self._holding[client] <= 0:
            del self._holding[client]
        self._free += 1
        self._serve()

    def _take(self, client: str) -> None:
        self._free -= 1
        self._holding[client] += 1

    def _serve(self) -> None:
        while self._free > 0:
            client = next((c for c in self._waiting if self._holding[c] < self._per_client), None)
            if client is None:
                return
            waiters = self._waiting.pop(client)
            turn = waiters.popleft()
            if waiters:
                self._waiting[client] = waiters
            if not turn.done():
                self._take(client)
                turn.set_result(None)

    def _forget(self, client: str, turn: asyncio.Future[None]) -> None:
        waiters = self._waiting.get(client)
        if waiters is not None and turn in waiters:
            waiters.remove(turn)
            if not waiters:
                del self._waiting[client]
