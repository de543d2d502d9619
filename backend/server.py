"""The embedded default: web and SMTP in one process (`smartbcc serve`); and the check that its ports are free."""
from __future__ import annotations

import errno
import logging
import signal
import socket
import threading

log = logging.getLogger(__name__)


class PortError(Exception):
    """A port this process must listen on cannot be opened; the message is one sentence."""


# (settings field of the host, of the port) -> the variables that change them
_LISTENERS = {
    "http": ("http_host", "http_port", "SMARTBCC_HTTP_HOST", "SMARTBCC_HTTP_PORT"),
    "smtp": ("smtp_host", "smtp_port", "SMARTBCC_SMTP_HOST", "SMARTBCC_SMTP_PORT"),
}


def listen_error(which: str, settings, exc: OSError) -> PortError:
    """The one sentence for an OSError met while opening the ``which`` ("http"/"smtp") port."""
    host_field, port_field, host_var, port_var = _LISTENERS[which]
    host, port = getattr(settings, host_field), getattr(settings, port_field)
    if exc.errno == errno.EADDRINUSE:
        return PortError(f"port {port} ({port_var}) is in use — is Smart Bcc already running? "
                         f"Stop it, or set {port_var} to another port.")
    if exc.errno == errno.EACCES:
        return PortError(f"port {port} ({port_var}) may not be opened by this user (ports below 1024 need "
                         f"root or CAP_NET_BIND_SERVICE); set {port_var} to a port above 1023.")
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return PortError(f"cannot listen on {host} ({host_var}): no such address on this machine; "
                         f"set {host_var} to one of its addresses, e.g. 127.0.0.1 or 0.0.0.0.")
    return PortError(f"cannot listen on {host}:{port} ({host_var}/{port_var}): {exc.strerror or exc}.")


def _bind(host: str, port: int, backlog: int = 0) -> socket.socket:
    """A socket bound to (host, port) as the servers bind (SO_REUSEADDR), listening if ``backlog``;
    raises OSError if the port cannot be opened."""
    from werkzeug.serving import get_sockaddr, select_address_family

    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(get_sockaddr(host, port, family))
        if backlog:
            sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def check_ports(settings, which: tuple[str, ...] = ("http", "smtp")) -> None:
    """Raises PortError, in one sentence naming the variables, unless every listed port can be opened."""
    failures = []
    for name in which:
        host_field, port_field, _host_var, _port_var = _LISTENERS[name]
        try:
            _bind(getattr(settings, host_field), getattr(settings, port_field)).close()
        except OSError as exc:
            failures.append((name, exc))
    busy = [name for name, exc in failures if exc.errno == errno.EADDRINUSE]
    if len(busy) > 1:
        ports = " and ".join(f"{getattr(settings, _LISTENERS[n][1])} ({_LISTENERS[n][3]})" for n in busy)
        variables = " and ".join(_LISTENERS[n][3] for n in busy)
        raise PortError(f"ports {ports} are in use — is Smart Bcc already running? "
                        f"Stop it, or set {variables} to other ports.")
    if failures:
        name, exc = failures[0]
        raise listen_error(name, settings, exc)


def serve_all(services) -> None:
    from werkzeug.serving import make_server

    from .app import create_app
    from .intake.smtp import start_controller

    settings = services.settings
    app = create_app(services=services)
    # Open both ports before anything runs, so a busy one stops the start with one sentence.
    # (werkzeug would print its own two lines and exit when binding fails; we bind for it.)
    try:
        sock = _bind(settings.http_host, settings.http_port, backlog=128)
    except OSError as exc:
        services.close()
        raise listen_error("http", settings, exc) from None
    with sock:  # make_server takes a duplicate of the descriptor
        web = make_server(settings.http_host, settings.http_port, app, threaded=True, fd=sock.fileno())
    try:
        smtp = start_controller(services)
    except OSError as exc:
        web.server_close()
        services.close()
        raise listen_error("smtp", settings, exc) from None
    services.jobs.start_periodic()  # also resumes mail accepted before a crash
    stop = threading.Event()

    def _stop(*_args):
        stop.set()
        threading.Thread(target=web.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("web on http://%s:%s, SMTP on %s:%s", settings.http_host, settings.http_port,
             settings.smtp_host, settings.smtp_port)
    try:
        web.serve_forever()
    finally:
        smtp.stop()
        services.close()
        log.info("stopped")
