"""The address that links for outside the app start with (survey emails, public links, QR codes).

Whichever is known first, in this order:

1. ``PATRON_BASE_URL`` when it is set: the address an administrator chose always wins;
2. the address this process serves on, announced by ``patron serve`` (and ``patron demo``) at
   start-up from its bind address (``server_url_announce``): the port it really listens on, and
   for a server on every interface (``0.0.0.0``, ``::``) the machine's first address other than
   loopback, so a phone on the same network can open it. When that address is a loopback one but a
   request arrived under another host name (a proxy in front of the server), the request's wins;
3. the request's own scheme and host (``request.build_absolute_uri``) on a page or a QR code;
4. the address the server on this machine announced in the data folder (``server-url``): how the
   worker, which has no request, puts the server's port in the emails it sends;
5. ``http://127.0.0.1:8000``, where ``patron serve`` listens by default.

``unreachable(url)`` says whether a link can only be opened on the server's own machine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

DEFAULT = "http://127.0.0.1:8000"
FILE_NAME = "server-url"
# Bind addresses meaning "every interface": recognised here, never bound to.
WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]", "*"})  # noqa: S104
ANNOUNCED_SECONDS = 10.0
# The address this process serves on, once announced (inherited by the server's forked workers).
_served: list[str] = []
# The data folder's address as last read: (path, read again after (monotonic), address).
_read: list[tuple[Path, float, str]] = []


def configured() -> str:
    """``PATRON_BASE_URL`` without its trailing slash, "" when it is not set."""
    return str(settings.PATRON_BASE_URL or "").rstrip("/")


def base_url(request: HttpRequest | None = None) -> str:
    """The address links for outside the app start with, without a trailing slash (see above)."""
    if explicit := configured():
        return explicit
    from_request = request.build_absolute_uri("/").rstrip("/") if request is not None else ""
    if _served:
        served = _served[0]
        if from_request and unreachable(served) and not unreachable(from_request):
            return from_request
        return served
    return from_request or _announced() or DEFAULT


def unreachable(url: str) -> bool:
    """True when the link's host names this machine only (localhost, 127.0.0.0/8, ::1, 0.0.0.0):
    a printed code or an emailed link with it opens nothing on another device."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host in ("", "localhost") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def lan_address() -> str:
    """This machine's first address other than loopback, or its host name when it has none.

    The address of the interface that routes outwards (a UDP socket's ``connect`` picks it and
    sends nothing), else the first non-loopback address the host name resolves to.
    """
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))
        routed = str(probe.getsockname()[0])
        if not unreachable(f"http://{routed}/"):
            return routed
    hostname = socket.gethostname()
    with contextlib.suppress(OSError):
        for candidate in socket.gethostbyname_ex(hostname)[2]:
            if not unreachable(f"http://{candidate}/"):
                return candidate
    return hostname


def server_url(host: str, port: int) -> str:
    """The address a server bound to ``host:port`` is reached at."""
    host = host.strip()
    if host in WILDCARDS:
        host = lan_address()
    host = host.strip("[]")
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}" + ("" if port == 80 else f":{port}")


def server_url_announce(host: str, port: int) -> str:
    """What ``patron serve`` does at start-up: this process's links use the address it listens on
    (unless PATRON_BASE_URL is set), its host is one the server answers (a phone opening a code
    sends it as ``Host``), and the worker on this machine finds it in the data folder. Returns
    the address links will start with."""
    url = server_url(host, port)
    _served[:] = [url]
    served_host = urlsplit(url).hostname or ""
    links_carry_it = not configured() and not unreachable(url)
    if links_carry_it and served_host not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, served_host]
    path = Path(settings.DATA_DIR) / FILE_NAME
    # A data folder the server may not write to costs the worker the address, not the start.
    with contextlib.suppress(OSError):
        if configured():
            # Configured: the worker reads the same setting; an address left by an earlier run goes.
            path.unlink(missing_ok=True)
        else:
            _write(path, url)
    _read.clear()
    return base_url()


def server_url_forget() -> None:
    """Undo this process's announcement and forget the data folder's as read (tests)."""
    _served.clear()
    _read.clear()


def _announced() -> str:
    """The data folder's address, read again at most every ANNOUNCED_SECONDS (a mailing builds a
    dozen links per email): a server restarted on another port is followed within that time."""
    path = Path(settings.DATA_DIR) / FILE_NAME
    now = time.monotonic()
    if _read and _read[0][0] == path and now < _read[0][1]:
        return _read[0][2]
    text = ""
    with contextlib.suppress(OSError, UnicodeError):
        text = path.read_text(encoding="utf-8").strip()
    value = text.rstrip("/") if text.startswith(("http://", "https://")) and "\n" not in text else ""
    _read[:] = [(path, now + ANNOUNCED_SECONDS, value)]
    return value


def _write(path: Path, url: str) -> None:
    """Written whole to a temporary file, then moved into place: a reader sees one address."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{FILE_NAME}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(url + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
