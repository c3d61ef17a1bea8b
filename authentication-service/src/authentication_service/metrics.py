"""The authentication service's own figures: logins by outcome, refusals by limit, bcrypt time."""

from prometheus_client import Counter, Histogram

LOGINS = Counter("auth_logins", "Logins answered: ok, invalid or refused", ["service", "outcome"])
REFUSALS = Counter(
    "auth_rate_limit_refusals",
    "Logins refused by a failed-login limit: the client's address or the account's",
    ["service", "limit"],
)
PASSWORD_CHECK = Histogram(
    "auth_password_check_duration_seconds",
    "Time one bcrypt check takes, waiting for a thread included",
    ["service"],
)
