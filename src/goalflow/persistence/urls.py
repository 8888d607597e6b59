"""Store urls: the one thing that decides where goalflow keeps its events."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

from goalflow.errors import StoreError

DEFAULT_URL = "sqlite:///goalflow.db"
ENV_VAR = "GOALFLOW_DB"
ACCEPTED_FORMS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, memory://,"
    " postgresql://user[:password]@host[:port]/dbname[?schema=name]"
)
# Lower case only: psycopg looks composite types up by unquoted (folded) name.
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@attrs.frozen
class StoreUrl:
    """A parsed store url. ``str()`` gives it back with any password masked."""

    kind: Literal["sqlite", "memory", "postgresql"]
    path: Path | None = None
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = attrs.field(default="", repr=False)
    dbname: str = ""
    schema: str = "public"

    def __str__(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"  # an absolute path brings its own fourth slash
        if self.kind == "memory":
            return "memory://"
        secret = ":***" if self.password else ""
        suffix = f"?schema={self.schema}" if self.schema != "public" else ""
        return f"postgresql://{self.user}{secret}@{self.host}:{self.port}/{self.dbname}{suffix}"


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
    parts = urlsplit(url)
    dbname = unquote(parts.path.lstrip("/"))
    try:
        port = parts.port or 5432
    except ValueError:
        raise StoreError(f"store url {_mask(url)!r} has a bad port; accepted forms:"
                         f" {ACCEPTED_FORMS}") from None
    if not parts.hostname or not dbname or "/" in dbname:
        raise StoreError(
            f"store url {_mask(url)!r} needs a host and a database name;"
            f" accepted forms: {ACCEPTED_FORMS}"
        )
    query = parse_qs(parts.query)
    unknown = sorted(set(query) - {"schema"})
    if unknown:
        raise StoreError(f"store url {_mask(url)!r}: unknown option {unknown[0]!r} (known:"
                         f" schema); accepted forms: {ACCEPTED_FORMS}")
    schema = query.get("schema", ["public"])[-1]
    if not _IDENTIFIER.fullmatch(schema):
        raise StoreError(f"store url {_mask(url)!r}: schema {schema!r} is not a lower-case"
                         f" identifier; accepted forms: {ACCEPTED_FORMS}")
    return StoreUrl(
        kind="postgresql",
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        dbname=dbname,
        schema=schema,
    )


def _mask(url: str) -> str:
    return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)
