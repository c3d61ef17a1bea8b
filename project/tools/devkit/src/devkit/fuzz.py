"""What the stream decoders' fuzz tests share: bytes cut into any chunks, bytes mutated from a
valid stream, and the settings (a budget per input is each test's own assertion)."""

import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# How long one connection's input may hold a door's event loop.
BUDGET = 1.0
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at the points `cuts` name (modulo its length), in order."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """`base` with a few bytes replaced, inserted, deleted or repeated."""
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(data)))
        match draw(st.sampled_from(["set", "insert", "delete", "repeat"])):
            case "set" if at < len(data):
                data[at] = draw(st.integers(0, 255))
            case "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=8))
            case "delete":
                del data[at : at + draw(st.integers(1, 8))]
            case "repeat":
                data[at:at] = data[at : at + draw(st.integers(1, 64))] * draw(st.integers(1, 50))
    return bytes(data)
