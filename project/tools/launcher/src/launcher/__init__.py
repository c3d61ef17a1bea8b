"""The one-command local run: every service as a process, each started once what it needs is ready.

- `settings`: the launcher's own settings (ports, timeouts), `LAUNCHER_*`.
- `probes`: finds PostgreSQL, RabbitMQ, MongoDB and a mail server, or says how to start them.
- `plan`: which processes to start, with which settings, in which order.
- `runner`: starts processes by readiness, prefixes their output, stops them all.
"""
