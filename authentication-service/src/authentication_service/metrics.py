"""The authentication service's own figures: logins by outcome, refusals by limit, bcrypt time."""

from prometheus_client import Counter, Histogram

LOGINS = Counter(
    "auth_logins", "Logins answered: ok, invalid, refused or busy", ["service", "outcome"]
)
REFUSALS = Counter(
    "auth_rate_limit_refusals",
    "Logins refused by a failed-login limit: address, or address_and_account",
    ["service", "limit"],
)
DELAYS = Counter(
    "auth_account_delays",
    "Logins made to wait because their account is over its limit of failures",
    ["service"],
)
PASSWORD_CHECK = Histogram(
    "auth_password_check_duration_seconds",
    "Time one bcrypt check takes, waiting for a thread included",
    ["service"],
)
