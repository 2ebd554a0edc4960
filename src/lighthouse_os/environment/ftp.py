"""Embedded FTP server (pyftpdlib) whose uploads land in the monitoring inbox.

Circular 10/2021 dataloggers push one file every 5 minutes by FTP. The server runs in a thread;
it tells the receiver which uploads are still open (`uploading`) so a half-written file is never
read, and removes the partial file of an aborted upload (the logger resends it).
"""

from __future__ import annotations

import logging
import secrets
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # pyftpdlib 2.x imports asyncore and asynchat, which Python 3.11 marks as deprecated (on
    # 3.12, where they are gone, it uses its own copies); nothing here uses them directly.
    warnings.filterwarnings(
        "ignore",
        message=r"The (asyncore|asynchat) module is deprecated",
        category=DeprecationWarning,
    )
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.ioloop import IOLoop
    from pyftpdlib.servers import FTPServer

log = logging.getLogger(__name__)

DEFAULT_USER = "lhos"
# Login, list, change folder, store, make folders, rename (no delete, no read of others' files).
UPLOAD_PERMISSIONS = "elwmf"
POLL_S = 0.05


def generate_password() -> str:
    """A random password for a server started without one (printed once by the command)."""
    return secrets.token_urlsafe(12)


class FeedFtpServer:
    """An FTP server for one account whose home folder is the inbox; start() and stop()."""

    def __init__(
        self,
        inbox: Path,
        *,
        user: str,
        password: str,
        host: str = "127.0.0.1",
        port: int = 2121,
        on_received: Callable[[Path], None] = lambda _path: None,
    ) -> None:
        if not user or not password:
            raise ValueError("the FTP server needs a user name and a password")
        inbox.mkdir(parents=True, exist_ok=True)
        self.inbox = inbox.resolve()
        self.user, self.password, self.host, self.port = user, password, host, port
        self.on_received = on_received
        self._open: set[Path] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: FTPServer | None = None
        # pyftpdlib logs every command and, polled in a loop, its start banner at each turn.
        logging.getLogger("pyftpdlib").setLevel(logging.WARNING)

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually listened on (port 0 picks a free one)."""
        if self._server is None:
            return self.host, self.port
        host, port = self._server.socket.getsockname()[:2]
        return str(host), int(port)

    def uploading(self, path: Path) -> bool:
        """Whether `path` is an upload still in progress."""
        with self._lock:
            return path.resolve() in self._open

    def start(self) -> None:
        """Listen and serve in a background thread."""
        if self._thread is not None:
            raise RuntimeError("the FTP server is already running")
        authorizer = DummyAuthorizer()
        authorizer.add_user(self.user, self.password, str(self.inbox), perm=UPLOAD_PERMISSIONS)
        handler = _handler_class(authorizer, self)
        self._server = FTPServer((self.host, self.port), handler, ioloop=IOLoop())
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="lhos-ftp", daemon=True)
        self._thread.start()
        log.info("FTP server on %s:%d, inbox %s", *self.address, self.inbox)

    def _serve(self) -> None:
        server = self._server
        if server is None:
            return
        # pyftpdlib's loop is not thread-safe: poll it here and close it from this thread.
        while not self._stop.is_set():
            server.serve_forever(timeout=POLL_S, blocking=False, handle_exit=False)
        server.close_all()

    def stop(self) -> None:
        """Stop serving and disconnect every client."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread, self._server = None, None
        with self._lock:
            self._open.clear()

    # -- called from the handler -----------------------------------------------------------

    def _opened(self, path: str) -> None:
        with self._lock:
            self._open.add(Path(path).resolve())

    def _closed(self, path: str, complete: bool) -> None:
        target = Path(path).resolve()
        with self._lock:
            self._open.discard(target)
        if not complete:
            target.unlink(missing_ok=True)  # the datalogger resends what it could not finish
            return
        try:
            self.on_received(target)
        except Exception:  # a callback error must not break the FTP session
            log.exception("on_received failed for %s", target.name)


def _handler_class(authorizer: DummyAuthorizer, owner: FeedFtpServer) -> type[FTPHandler]:
    class Handler(FTPHandler):  # type: ignore[misc]
        banner = "Lighthouse OS monitoring receiver"

        def ftp_STOR(self, file: str, mode: str = "w") -> Any:  # noqa: N802 - pyftpdlib's name
            owner._opened(file)
            return super().ftp_STOR(file, mode)

        def on_file_received(self, file: str) -> None:
            owner._closed(file, complete=True)

        def on_incomplete_file_received(self, file: str) -> None:
            owner._closed(file, complete=False)

    Handler.authorizer = authorizer
    return Handler
