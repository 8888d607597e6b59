"""Store urls: the one thing that decides where goalflow keeps its events."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote

import attrs
import psycopg

from goalflow.errors import StoreError

DEFAULT_URL = "sqlite:///goalflow.db"
ENV_VAR = "GOALFLOW_DB"
ACCEPTED_FORMS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, memory://,"
    " postgresql://user[:password]@host[:port]/dbname[?schema=name&libpq options]"
)
# Lower case only: psycopg looks composite types up by unquoted (folded) name.
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")

SECRET_OPTIONS = frozenset({"password", "sslpassword", "oauth_client_secret",
                            "scram_client_key", "scram_server_key"})
"""libpq options whose values are never shown."""

# libpq options the url's own parts give (postgresql://user@host:port/dbname), and one that
# would let a file outside the url (pg_service.conf) decide the store.
_REFUSED_OPTIONS = {
    "host": "give the host in the url itself",
    "port": "give the port in the url itself",
    "user": "give the user in the url itself",
    "dbname": "give the database in the url's path",
    "service": "the url alone decides the store, not a service file",
}
MASK = "***"


@functools.cache
def libpq_options() -> frozenset[str]:
    """The connection options the installed libpq knows (sslmode, application_name, ...)."""
    return frozenset(option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults())


def _masked(options: tuple[tuple[str, str], ...]) -> str:
    return repr(tuple((k, MASK if k in SECRET_OPTIONS else v) for k, v in options))


@attrs.frozen
class StoreUrl:
    """A parsed store url. ``str()`` and ``repr()`` give it back with every secret masked.

    ``options`` are libpq's connection options besides host, port, user, password and
    dbname (``sslmode``, ``sslrootcert``, ``application_name``, ...), sorted by name.
    """

    kind: Literal["sqlite", "memory", "postgresql"]
    path: Path | None = None
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = attrs.field(default="", repr=False)
    dbname: str = ""
    schema: str = "public"
    options: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=_masked)

    def __str__(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"  # an absolute path brings its own fourth slash
        if self.kind == "memory":
            return "memory://"
        secret = f":{MASK}" if self.password else ""
        user = f"{quote(self.user, safe='')}{secret}@" if self.user or secret else ""
        host = f"[{self.host}]" if ":" in self.host else quote(self.host, safe="")
        query = [("schema", self.schema)] if self.schema != "public" else []
        query += self.options
        suffix = "&".join(
            f"{k}={MASK if k in SECRET_OPTIONS else quote(v, safe='/:,')}" for k, v in query)
        return (f"postgresql://{user}{host}:{self.port}/{quote(self.dbname, safe='')}"
                f"{'?' if suffix else ''}{suffix}")


def resolve_url(url: str | None) -> str:
    """The url to use: the one given, else ``$GOALFLOW_DB``, else the default file."""
    if url is not None:
        return url
    return os.environ.get(ENV_VAR) or DEFAULT_URL


def parse_url(url: str) -> StoreUrl:
    """Parse a store url, or raise :class:`StoreError` naming the accepted forms."""
    if not isinstance(url, str) or not url.strip():
        raise StoreError(f"empty store url; accepted forms: {ACCEPTED_FORMS}")
    if url == "memory://":
        return StoreUrl(kind="memory")
    if url.startswith("sqlite:///"):
        rest = url[len("sqlite:///"):]
        if not rest or rest == "/":
            raise StoreError(f"store url {url!r} names no file; accepted forms: {ACCEPTED_FORMS}")
        # sqlite:////abs/path.db keeps its leading slash; sqlite:///rel.db is relative.
        return StoreUrl(kind="sqlite", path=Path(unquote(rest)))
    if url.startswith(("postgresql://", "postgres://")):
        return _parse_postgres(url)
    raise StoreError(f"unsupported store url {_mask(url)!r}; accepted forms: {ACCEPTED_FORMS}")


def _parse_postgres(url: str) -> StoreUrl:
    def refused(problem: str) -> StoreError:
        return StoreError(f"store url {_mask(url)!r}{problem}; accepted forms: {ACCEPTED_FORMS}")

    rest = url.partition("://")[2]
    # A password may hold '@' (and ':', '?') even unencoded: the user part ends at the
    # last '@' before the path.
    path_start = rest.find("/") if "/" in rest else len(rest)
    at = rest.rfind("@", 0, path_start)
    user, _, password = rest[:max(at, 0)].partition(":")
    host, port = _host_and_port(rest[at + 1:path_start], refused)
    dbname, _, query = rest[path_start + 1:].partition("?")
    dbname = unquote(dbname)
    if not host or not dbname or "/" in dbname:
        raise refused(" needs a host and a database name")
    password = unquote(password)
    schema = "public"
    options: dict[str, str] = {}
    given: set[str] = set()
    for name, value in _query(query):
        if name in given:
            raise refused(f": {_named(name)} is given twice")
        given.add(name)
        if name == "schema":
            if not _IDENTIFIER.fullmatch(value):
                raise refused(f": schema {value!r} is not a lower-case identifier")
            schema = value
        elif name not in libpq_options():
            raise refused(f": unknown option {_named(name)!r} (known: schema and libpq's"
                          " connection options, such as sslmode, sslrootcert, sslcert, sslkey,"
                          " connect_timeout, application_name)")
        elif name in _REFUSED_OPTIONS:
            raise refused(f": option {name}: {_REFUSED_OPTIONS[name]}")
        elif name == "password":
            if password:
                raise refused(": password is given twice")
            password = value
        elif name == "connect_timeout" and not (value.isdigit() and int(value) > 0):
            raise refused(": connect_timeout must be a whole number of seconds, at least 1")
        else:
            options[name] = value
    return StoreUrl(kind="postgresql", host=host, port=port, user=unquote(user),
                    password=password, dbname=dbname, schema=schema,
                    options=tuple(sorted(options.items())))


def _host_and_port(text: str, refused: Callable[[str], StoreError]) -> tuple[str, int]:
    if text.startswith("["):  # an IPv6 address
        host, _, after = text[1:].partition("]")
        if after and not after.startswith(":"):
            raise refused(" has a bad host")
        port = after[1:]
    else:
        host, _, port = text.partition(":")
    if "," in host:
        raise refused(" names several hosts; goalflow takes one")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise refused(" has a bad port")
    return unquote(host), int(port) if port else 5432


def _query(query: str) -> list[tuple[str, str]]:
    """A url's options, percent-decoded ('+' is a plus, as libpq reads it)."""
    fields = [field.partition("=") for field in query.split("&") if field]
    return [(unquote(name), unquote(value)) for name, _, value in fields]


def _named(name: str) -> str:
    """An option's name as an error may quote it: anything else may be part of a secret."""
    return name if re.fullmatch(r"[a-z_]{1,40}", name) else "?"


def _mask(url: str) -> str:
    """A url as an error may quote it: any password (after a user name, up to the last
    '@', which a password may hold; or as a secret option) replaced by ***."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    at = rest.rfind("@")
    colon = rest.find(":", 0, max(at, 0))
    if colon >= 0:
        rest = f"{rest[:colon + 1]}{MASK}{rest[at:]}"
    base, question, query = rest.partition("?")
    fields = [field.partition("=") for field in query.split("&")]
    query = "&".join(name + equals + (MASK if unquote(name) in SECRET_OPTIONS else value)
                     for name, equals, value in fields)
    return f"{scheme}{separator}{base}{question}{query}"
