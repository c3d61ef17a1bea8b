"""Read every request body as JSON, whatever its Content-Type says, as the Go original did.

`curl -d '{...}'` sends `application/x-www-form-urlencoded`; the original's `json.Decoder`
never looked. FastAPI parses (and documents, and validates) a body model only for JSON
content types, so this route class presents the body as JSON before FastAPI reads it.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

_JSON = (b"content-type", b"application/json")


class GoJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def as_json(request: Request) -> Response:
            scope = request.scope
            scope["headers"] = [h for h in scope["headers"] if h[0] != b"content-type"] + [_JSON]
            return await handler(Request(scope, request.receive))

        return as_json
