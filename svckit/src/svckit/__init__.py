"""What every service of the system repeats, written once.

The HTTP service:
- `app`: `create_app()`, a FastAPI app with the handlers, `/ping`, `/ready`, `/metrics`,
  FastAPI's own server spans where spans are recorded, and no middleware layer but `edge`'s.
- `edge`: the one pure ASGI pass every request takes: proxy headers, trace ids, CORS, body
  limit, JSON whatever the Content-Type, the 500 envelope, metrics, the access line.
- `lean_routes`: routes that need nothing of FastAPI per request but their body, served by one
  dict lookup inside the edge (the hot routes), answering exactly as FastAPI would.
- `body_limit`: the body limit's parts (1 MiB), which `edge` enforces with 413 (`BodyGuard`).
- `cors`: Starlette's CORS rules, applied by `edge` (the broker's page).
- `envelope`: the JSON envelope `{"error", "message", "data"}` and its model for OpenAPI.
- `errors`: `ServiceError` and the exception handlers (400/413/5xx, never a stack trace).
- `go_json`: bodies read as Go's `encoding/json` read them (keys matched case-insensitively).
- `fields`: field types every request model shares (emails, ...), each as its schema says.
- `readiness`: `GET /ready`, every dependency checked concurrently within 1 s.
- `serve`: runs an app under uvicorn with graceful shutdown on SIGTERM and the door's bounds.
- `http_limits`: uvicorn's httptools protocol with header and body deadlines and a header size
  bound (slowloris, oversized headers).

Settings and telemetry:
- `settings`: the pydantic-settings base every service's settings extend.
- `logs`: one JSON object a line, with the service and the `trace_id` and `span_id`.
- `tracing`: OpenTelemetry by the standard `OTEL_*` variables, and the spans no
  instrumentation package covers (Go's net/rpc, SMTP).
- `metrics`: the Prometheus metrics every service shares.

The log entry and its transports:
- `contract`: the logger's contract: the entry and its caps (`LOG_NAME_MAX`, `LOG_DATA_MAX`),
  `RPCServer.LogInfo` and its argument, the exchange and routing keys.
- `batching`: group commit: callers arriving while a commit is in flight share the next one.
- `netrpc`: Go's `net/rpc` on either codec, client and server side.
- `gob`: Go's `encoding/gob`, the part `net/rpc` uses (no Python library speaks it).
- `jsonrpc`: the wire codec of Go's `net/rpc/jsonrpc`.
- `amqp`: the RabbitMQ topology and the confirmed, persistent publisher.
- `backoff`: retry a connect with capped exponential back-off.
- `parts`: a service's parts stored once on the app in the lifespan and read back typed
  (each service's `deps.py`).
- `dsn`: PostgreSQL connection strings in libpq's keyword form or as URIs.
- `http_client`: the one HTTP client for calls to other services (pool, deadlines, envelope
  errors, answer cap, trace context).
- `client_address`: the caller's address: FORWARDED_ALLOW_IPS applied by `edge`, read by a
  handler.

Test helpers live apart, in the dev-only `devkit` package: no service image carries them.
"""
