"""The bcrypt line's order: round-robin across clients, every slot to a client alone, and a
waiter that gives up (a login past its deadline) neither keeps nor loses a slot."""

import asyncio

from authentication_service.fair_line import FairLine


async def holders(
    line: FairLine, clients: list[str], served: list[str]
) -> list[asyncio.Task[None]]:
    async def hold(client: str) -> None:
        await line.acquire(client)
        served.append(client)

    tasks = [asyncio.create_task(hold(c)) for c in clients]
    await asyncio.sleep(0)  # each has asked for its turn, in this order
    return tasks


async def test_waiters_are_served_in_turn_by_client_not_by_arrival() -> None:
    line = FairLine(1)
    await line.acquire("busy")  # the one running check
    served: list[str] = []
    tasks = await holders(line, ["a", "a", "a", "a", "b", "c", "b"], served)
    for _ in tasks:
        line.release()
        await asyncio.sleep(0)
    assert served == ["a", "b", "c", "a", "b", "a", "a"]


async def test_a_client_alone_gets_every_slot_at_once() -> None:
    line = FairLine(3)
    served: list[str] = []
    await holders(line, ["a", "a", "a", "a"], served)
    assert served == ["a", "a", "a"]
    line.release()
    await asyncio.sleep(0)
    assert served == ["a", "a", "a", "a"]


async def test_a_waiter_cancelled_keeps_no_slot_and_loses_none() -> None:
    line = FairLine(1)
    await line.acquire("busy")
    served: list[str] = []
    gone, stays = await holders(line, ["a", "b"], served)
    gone.cancel()
    await asyncio.sleep(0)
    line.release()  # to b: the cancelled a is no longer in line
    await asyncio.sleep(0)
    assert served == ["b"]
    assert stays.done()
    line.release()  # b's slot back; one acquire then goes through at once
    await asyncio.wait_for(line.acquire("c"), 1)
