"""Read every request body as JSON, whatever its Content-Type says, as the Go original did.

`curl -d '{...}'` sends `application/x-www-form-urlencoded`; the original's `json.Decoder`
never looked. FastAPI parses (and validates) a body model only for JSON content types, so
this middleware presents bodies as JSON before FastAPI reads them.
"""

from starlette.types import ASGIApp, Receive, Scope, Send

_JSON = (b"content-type", b"application/json")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class JsonWhateverContentType:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _WITH_BODY:
            headers = [h for h in scope["headers"] if h[0] != b"content-type"]
            scope = {**scope, "headers": [*headers, _JSON]}
        await self.app(scope, receive, send)
