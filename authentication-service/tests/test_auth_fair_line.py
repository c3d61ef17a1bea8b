"""The bcrypt line's order: round-robin across clients, every slot up to its cap to a client
alone, a slot above one client's cap left for the others, and a waiter that gives up (a login
past its deadline) neither keeps nor loses a slot."""

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
    line.release("busy")
    for _ in tasks[1:]:
        await asyncio.sleep(0)  # the slot's new holder runs
        line.release(served[-1])
    await asyncio.sleep(0)
    assert served == ["a", "b", "c", "a", "b", "a", "a"]


async def test_a_client_alone_gets_every_slot_up_to_its_cap_at_once() -> None:
    line = FairLine(4, per_client=3)
    served: list[str] = []
    await holders(line, ["a", "a", "a", "a"], served)
    assert served == ["a", "a", "a"]
    line.release("a")
    await asyncio.sleep(0)
    assert served == ["a", "a", "a", "a"]


async def test_the_slot_above_a_busy_clients_cap_goes_to_another_at_once() -> None:
    line = FairLine(3, per_client=2)
    served: list[str] = []
    await holders(line, ["a"] * 5, served)
    assert served == ["a", "a"]
    await asyncio.wait_for(line.acquire("b"), 1)  # a's three waiters do not stand before b
    line.release("b")
    await asyncio.wait_for(line.acquire("c"), 1)
    line.release("a")  # a under its cap again: its next waiter
    await asyncio.sleep(0)
    assert served == ["a", "a", "a"]


async def test_a_waiter_cancelled_keeps_no_slot_and_loses_none() -> None:
    line = FairLine(1)
    await line.acquire("busy")
    served: list[str] = []
    gone, stays = await holders(line, ["a", "b"], served)
    gone.cancel()
    await asyncio.sleep(0)
    line.release("busy")  # to b: the cancelled a is no longer in line
    await asyncio.sleep(0)
    assert served == ["b"]
    assert stays.done()
    line.release("b")  # b's slot back; one acquire then goes through at once
    await asyncio.wait_for(line.acquire("c"), 1)
