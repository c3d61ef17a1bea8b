"""mailcatcher: a MailHog stand-in for running without Docker and for tests.

- `store`: the caught messages, in memory, newest kept (a cap drops the oldest).
- `smtp_server`: the aiosmtpd server that catches whatever it is sent (SMTP, 1025).
- `mailhog`: a caught message in MailHog's JSON shape.
- `http_api`: MailHog's HTTP API and a page listing the caught mail (8025).
- `testing`: the `mail_catcher` pytest fixture (a catcher on free ports for the session).
"""
