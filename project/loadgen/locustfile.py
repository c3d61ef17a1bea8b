"""Load for the broker: every path it serves, weighted roughly as a busy page would use them.

Locust's own `LOCUST_*` variables set the run (`LOCUST_HOST`, `LOCUST_RUN_TIME`, `LOCUST_USERS`,
`LOCUST_SPAWN_RATE`, `LOCUST_HEADLESS`), so `LOCUST_RUN_TIME=10s make -C project load` runs ten
seconds. Only Locust and the standard library are imported: the compose service runs this file in
Locust's own image.
"""

import random
import string

from locust import HttpUser, between, task

ADMIN = {"email": "admin@example.com", "password": "verysecret"}
LEVELS = ("INFO", "INFO", "INFO", "WARNING", "ERROR")
NAMES = ("checkout", "signup", "search", "payment", "inventory")


def _event() -> dict[str, str]:
    words = " ".join(
        "".join(random.choices(string.ascii_lowercase, k=random.randint(3, 9)))
        for _ in range(random.randint(3, 12))
    )
    return {"name": f"load-{random.choice(NAMES)}", "data": words}


class PageUser(HttpUser):
    """One person clicking the test page's buttons and reading the log view."""

    wait_time = between(0.2, 1.0)

    @task(2)
    def ping(self) -> None:
        self.client.post("/", name="POST / (ping)")

    # bcrypt at cost 12 is the most expensive call of the system: as rare as a real login.
    @task(1)
    def auth(self) -> None:
        self.client.post("/handle", json={"action": "auth", "auth": ADMIN}, name="/handle auth")

    @task(1)
    def mail(self) -> None:
        mail = {
            "from": "load@example.com",
            "to": f"user{random.randint(1, 999)}@example.com",
            "subject": "Your order",
            "message": "Thank you for your order.",
        }
        self.client.post("/handle", json={"action": "mail", "mail": mail}, name="/handle mail")

    @task(3)
    def log_action(self) -> None:
        self.client.post("/handle", json={"action": "log", "log": _event()}, name="/handle log")

    @task(3)
    def log_grpc(self) -> None:
        self.client.post("/log-grpc", json={"log": _event()})

    @task(3)
    def log_http(self) -> None:
        self.client.post("/log-http", json={"log": _event()})

    @task(3)
    def log_rpc(self) -> None:
        self.client.post("/log-rpc", json={"log": _event()})

    @task(4)
    def log_rabbit(self) -> None:
        self.client.post("/log-rabbit", json={"log": _event(), "level": random.choice(LEVELS)})

    @task(2)
    def recent_logs(self) -> None:
        self.client.get("/logs", params={"limit": "20"}, name="/logs")
