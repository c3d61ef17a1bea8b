"""A stand-in service for the runner's tests: a real process serving `/ready` on PORT.

`/ready` answers 503 until the file READY_FILE exists (200 at once when it is unset);
`/exit/<code>` ends the process with that exit code, as a crash would. IGNORE_TERM=1 makes it
ignore SIGTERM; GRANDCHILD_PID_FILE makes it start a grandchild in its process group and write
that one's pid there.
"""

import http.server
import os
import signal
import subprocess
import sys
from pathlib import Path


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/exit/"):
            os._exit(int(self.path.removeprefix("/exit/")))
        ready_file = os.environ.get("READY_FILE")
        ready = ready_file is None or Path(ready_file).exists()
        self.send_response(200 if ready else 503)
        self.end_headers()
        self.wfile.write(b'{"message":"ready"}' if ready else b'{"message":"not yet"}')

    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> None:
    if os.environ.get("IGNORE_TERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pid_file = os.environ.get("GRANDCHILD_PID_FILE")
    if pid_file:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        Path(pid_file).write_text(str(child.pid))
    server = http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
