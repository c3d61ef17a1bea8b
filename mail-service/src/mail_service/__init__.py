"""mail-service: renders a message as multipart mail (text and inlined HTML), sends it by SMTP.

- `settings`: the original's settings (`MAIL_HOST`, `MAIL_ENCRYPTION`, `FROM_NAME`, ...).
- `models`: the `/send` request, validated (addresses, no line breaks in header values).
- `composer`: the two Jinja2 templates (the HTML one inlined once) and the MIME message.
- `smtp_pool`: the SMTP connections, kept and reused (or one per message), at most a few.
- `mailer`: hands a mail to the server over a pooled connection, every step within a deadline.
- `smtp_check`: `/ready`'s check of the server, its outcome cached.
- `smtp_errors`: the server's failures as the caller reads them (502/504), in one place.
- `deps`: what the routes are given (typed `Annotated` aliases of the lifespan's parts).
- `http_api`: the route (`POST /send`).
- `app`: the FastAPI app and the lifespan that builds its parts.
"""
