"""What every service of the system repeats, written once.

- `envelope`: the JSON envelope `{"error", "message", "data"}`.
- `errors`: `ServiceError` and the exception handlers (400/413/5xx, never a stack trace).
- `app`: `create_app()`, a FastAPI app with the handlers, `/ping`, `/ready` and the middlewares.
- `go_json`: bodies read as JSON whatever their Content-Type, as the Go original did.
- `settings`: the pydantic-settings base every service's settings extend.
- `logs`: structured JSON logging with the request id.
- `serve`: runs an app under uvicorn with graceful shutdown on SIGTERM.
- `backoff`: retry a connect with capped exponential back-off.
- `jsonrpc`: the wire codec of Go's `net/rpc/jsonrpc`.
- `amqp`: the confirmed, persistent RabbitMQ publisher.
- `browser`: Debian's Chromium under Playwright for the browser tests.
- `proxy`: a TCP proxy a test cuts to give one service an outage of a shared server.
- `testing`: pytest fixtures that start real servers on free ports (a pytest plugin).
"""
