"""What every service of the system repeats, written once.

- `envelope`: the JSON envelope `{"error", "message", "data"}` and its model for OpenAPI.
- `errors`: `ServiceError` and the exception handlers (400/413/5xx, never a stack trace).
- `app`: `create_app()`, a FastAPI app with the handlers, `/ping`, `/ready` and the middlewares.
- `go_json`: bodies read as Go's `encoding/json` read them (any Content-Type, keys matched
  case-insensitively).
- `settings`: the pydantic-settings base every service's settings extend.
- `logs`: structured JSON logging with the request id.
- `serve`: runs an app under uvicorn with graceful shutdown on SIGTERM and the door's bounds.
- `http_limits`: uvicorn's httptools protocol with header and body deadlines and a header size
  bound (slowloris, oversized headers).
- `backoff`: retry a connect with capped exponential back-off.
- `jsonrpc`: the wire codec of Go's `net/rpc/jsonrpc`.
- `gob`: Go's `encoding/gob`, the part `net/rpc` uses (no Python library speaks it).
- `parts`: a service's parts stored once on the app in the lifespan and read back typed
  (each service's `deps.py`).
- `contract`: the logger's contract: the entry and its caps, `RPCServer.LogInfo` and its
  argument, the exchange and routing keys.
- `netrpc`: Go's `net/rpc` on either codec, client and server side.
- `amqp`: the confirmed, persistent RabbitMQ publisher.
- `dsn`: PostgreSQL connection strings in libpq's keyword form or as URIs.

Test helpers live apart, in the dev-only `devkit` package: no service image carries them.
"""
