"""Which web pages may talk to the server: the ``Host`` and ``Origin`` guard.

With no API key (the loopback default) the only thing between a web page the user visits and
their training data is the browser's same-origin policy, and two holes go around it:

- DNS rebinding: a page on ``evil.example`` re-points its own name at 127.0.0.1 and then reads
  ``http://evil.example:8000/v1/files`` as same-origin. The browser still sends
  ``Host: evil.example``, so only ``Host`` names the server was bound to are accepted (loopback
  names and addresses by default, more with ``--allowed-host``).
- Cross-site requests: any page may send a "simple" POST (a multipart upload, a form) without a
  CORS preflight. It cannot read the answer, but the upload or the delete has happened. Such
  requests carry ``Origin`` and, in current browsers, ``Sec-Fetch-Site``; both are checked.

Clients that are not browsers (the openai SDK, curl) send neither header and are unaffected, and
same-origin pages (the web UI, served by this server) send their own origin. Plain ASGI, like the
guards in ``deps``, so no route can forget it; ``/health`` included.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from tunelab.api.errors import error_response
from tunelab.hosts import is_loopback

WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "*"})
ANY_HOST = "*"
SAME_ORIGIN_SITES = frozenset({"same-origin", "none"})  # "none": typed URL, bookmark
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_host(name: str) -> str:
    """``"[::1]"`` -> ``"::1"``, ``"LocalHost."`` -> ``"localhost"``: the form names are kept in."""
    name = name.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name.rstrip(".") if name != "." else name


def allowed_hosts_for(bind_host: str, extra: Iterable[str]) -> list[str]:
    """The ``Host`` names to accept besides loopback, for ``create_app(allowed_hosts=...)``.

    ``bind_host`` counts when it is a concrete name or address (``192.168.1.5``,
    ``box.lan``); a wildcard bind (``0.0.0.0``, ``::``) names no host, so the names clients use
    must come in ``extra`` (``--allowed-host``). ``"*"`` in ``extra`` accepts any host.
    """
    names = [] if normalize_host(bind_host) in WILDCARD_BINDS else [bind_host]
    hosts: list[str] = []
    for name in (*names, *extra):
        host = ANY_HOST if name.strip() == ANY_HOST else normalize_host(name)
        if host and host not in hosts and not is_loopback(host):
            hosts.append(host)
    return hosts


def split_host(value: str) -> tuple[str, int | None] | None:
    """``"[::1]:8000"`` -> ``("::1", 8000)``; ``"localhost"`` -> ``("localhost", None)``; None
    when it is not a host (a path, user info, a bad port)."""
    try:
        parts = urlsplit(f"//{value}")
        name, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not name or parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return normalize_host(name), port


class HostOriginMiddleware:
    """400 ``invalid_host`` for a ``Host`` not allowed; 403 ``cross_site_request`` for a browser
    request from another site (see the module docstring for the rules and why)."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Iterable[str] | None = None):
        self.app = app
        extra = [ANY_HOST if h == ANY_HOST else normalize_host(h) for h in allowed_hosts or ()]
        self.any_host = ANY_HOST in extra
        self.allowed = frozenset(h for h in extra if h != ANY_HOST)

    def host_allowed(self, name: str) -> bool:
        return self.any_host or is_loopback(name) or name in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":  # none today; browsers open them from any site
            await send({"type": "websocket.close", "code": 1008})
            return
        status, message, code = refusal
        response = error_response(status, message, code=code)
        response.headers["connection"] = "close"  # the body is not read: do not drain it
        await response(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        """(status, message, code) when the request must be refused, else None."""
        headers = dict(scope["headers"])
        raw_host = headers.get(b"host", b"").decode("latin-1")
        host = split_host(raw_host)
        if host is None or not self.host_allowed(host[0]):
            shown = raw_host[:100]
            message = (
                f"Host {shown!r} is not allowed. This server answers to loopback names and to the "
                "names given with --allowed-host (a defence against DNS rebinding)."
            )
            return 400, message, "invalid_host"
        origin = headers.get(b"origin")
        if origin is not None and not self.same_origin(origin.decode("latin-1"), host):
            shown = origin.decode("latin-1")[:100]
            message = f"Cross-site request refused: Origin {shown!r} is not this server."
            return 403, message, "cross_site_request"
        site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
        if site and site not in SAME_ORIGIN_SITES and not self.is_navigation(scope, headers):
            message = f"Cross-site request refused (Sec-Fetch-Site: {site[:40]})."
            return 403, message, "cross_site_request"
        return None

    def same_origin(self, origin: str, host: tuple[str, int | None]) -> bool:
        """``Origin`` is this server as the browser reached it: the same host and port as
        ``Host`` (``Origin: null``, from sandboxed frames and some redirects, never is)."""
        parts = urlsplit(origin)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or parts.path not in ("", "/"):
            return False
        found = split_host(parts.netloc)
        if found is None or not self.host_allowed(found[0]):
            return False
        # A Host without a port is the default port of the scheme the browser used (behind a
        # TLS proxy the server itself sees plain http), so both sides default to the Origin's.
        default = DEFAULT_PORTS[scheme]
        return found[0] == host[0] and (found[1] or default) == (host[1] or default)

    @staticmethod
    def is_navigation(scope: Scope, headers: dict) -> bool:
        """A top-level GET the user made by following a link from another site: the page goes
        to the user, never to the linking site, and a GET changes nothing."""
        return (
            scope.get("method") in ("GET", "HEAD")
            and headers.get(b"sec-fetch-mode") == b"navigate"
            and headers.get(b"sec-fetch-dest", b"document") == b"document"
        )
