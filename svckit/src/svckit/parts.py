"""A service's parts (clients, stores) as its routes reach them: built in the lifespan, stored
once on the app, read back typed.

A service's `deps.py` names one `Part` per thing its routes use; a route either takes the
part's `Annotated` alias (`Annotated[T, Depends(part.dependency)]`, FastAPI's full-stack
template's style) or, on a hot route, calls the part itself so FastAPI has nothing to resolve.
"""

from typing import Generic, TypeVar

from fastapi import FastAPI, Request

T = TypeVar("T")


class Part(Generic[T]):
    def __init__(self, key: str) -> None:
        self.key = key

    def install(self, app: FastAPI, value: T) -> None:
        setattr(app.state, self.key, value)

    def __call__(self, request: Request) -> T:
        return self.of(request.app)

    def of(self, app: FastAPI) -> T:
        value: T = getattr(app.state, self.key)
        return value

    # Async, so FastAPI calls it in the loop rather than hopping to a worker thread per request.
    async def dependency(self, request: Request) -> T:
        return self(request)
