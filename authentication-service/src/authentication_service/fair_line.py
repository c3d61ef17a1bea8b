"""A line for a few slots, served round-robin across clients instead of first come, first
served: a client that queues a hundred checks makes everyone else wait for one of them at
most, not for all of them, while a client alone still gets every slot."""

import asyncio
from collections import deque


class FairLine:
    def __init__(self, slots: int) -> None:
        self._free = slots
        # Each client's waiters in arrival order; the clients in the order they are next served.
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}

    async def acquire(self, client: str) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(client, deque()).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the slot as it was cancelled: pass it on
            else:
                self._forget(client, turn)
            raise

    def release(self) -> None:
        """The slot goes to the first waiter of the client next in turn, who then goes to the
        back of the round; with nobody waiting it is free."""
        while self._waiting:
            client = next(iter(self._waiting))
            waiters = self._waiting.pop(client)
            turn = waiters.popleft()
            if waiters:
                self._waiting[client] = waiters
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1

    def _forget(self, client: str, turn: asyncio.Future[None]) -> None:
        waiters = self._waiting.get(client)
        if waiters is not None and turn in waiters:
            waiters.remove(turn)
            if not waiters:
                del self._waiting[client]
