"""Who may reach the chat: 127.0.0.1 only by default; on any other address a login is required unless the
operator turns it off on purpose. Passwords come from the environment (GUIDECHAT_AUTH), never from a flag,
which other users of the machine could read in the process list."""

from __future__ import annotations

import ipaddress

Login = tuple[str, str]


class AccessError(ValueError):
    """The server must not start as configured; str() says why and what to do."""


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def parse_logins(secret: str) -> list[Login]:
    """"user:password[,user:password...]"; an entry without both parts is an error naming its position only
    (never echoing a password)."""
    logins: list[Login] = []
    for position, entry in enumerate((e for e in secret.split(",") if e.strip()), 1):
        user, sep, password = entry.strip().partition(":")
        if not sep or not user or not password:
            raise AccessError(f"GUIDECHAT_AUTH entry {position} is not user:password")
        logins.append((user, password))
    return logins


def logins_for(host: str, secret: str, allow_no_auth: bool) -> list[Login] | None:
    """The logins the server must ask for; None for an open server (loopback, or on purpose)."""
    logins = parse_logins(secret)
    if logins:
        return logins
    if is_loopback(host) or allow_no_auth:
        return None
    raise AccessError(
        f"guidechat: refusing to serve on {host} without a login. Set GUIDECHAT_AUTH=user:password in the "
        "environment (several: user1:pw1,user2:pw2), or pass --no-auth (or GUIDECHAT_ALLOW_NO_AUTH=true) to serve "
        "openly on purpose."
    )
