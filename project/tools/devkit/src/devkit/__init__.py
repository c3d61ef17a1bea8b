"""Dev only: what the tests, the benchmarks and the launcher share (never in a service image).

- `net`: free ports and the one port probe.
- `wait`: poll with a deadline (`wait_for`, `await_for`, `http_status`).
- `process`: one of our services as a real process, as the launcher runs it.
- `mongo`: SecantusDB (the MongoDB stand-in) as a process of its own.
- `mail`: a whole mail catcher in a thread, for tests.
- `system`: the whole system under the launcher, on a run's own ports and names, with the
  servers a fault test takes away behind proxies or in processes of its own.
- `grpc_health`: the standard gRPC health check, as a peer calls it.
- `browser`: Debian's Chromium under Playwright.
- `fixtures`: the pytest plugin: real servers on free ports, each run's data isolated.
"""
