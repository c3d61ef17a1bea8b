"""mail-service: renders a message as multipart mail (text and inlined HTML), sends it by SMTP.

- `settings`: the original's settings (`MAIL_HOST`, `MAIL_ENCRYPTION`, `FROM_NAME`, ...).
- `models`: the `/send` request, validated (addresses, no line breaks in header values).
- `composer`: the two Jinja2 templates (the HTML one inlined once) and the MIME message.
- `smtp_client`: a small pool of SMTP connections (or one per message), every step within a
  deadline; errors as 502/504.
- `http_api`: the route (`POST /send`).
- `app`: the FastAPI app and the lifespan that opens the SMTP client.
"""
