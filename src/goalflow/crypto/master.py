"""The master key: read from bytes, base64 text or a file; it wraps and unwraps data keys."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from goalflow.errors import InvalidCommand

ENV_VAR = "GOALFLOW_MASTER_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12


class WrongKey(Exception):
    """A wrapped value did not open with the key given (wrong key, or altered bytes)."""


class MasterKey:
    """A 256-bit key that wraps (AES-256-GCM) the data keys in a key store."""

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise InvalidCommand(f"a master key is {KEY_BYTES} bytes (base64 of them: 44"
                                 " characters)", field="master_key")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "MasterKey(***)"

    def wrap(self, secret: bytes, context: bytes) -> bytes:
        """``secret`` sealed under this key, bound to ``context`` (nonce + ciphertext)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret, context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
        except (InvalidTag, ValueError) as e:
            raise WrongKey() from e


def new_key_text() -> str:
    """A fresh random master key as base64 text (what GOALFLOW_MASTER_KEY holds)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def parse(value: MasterKey | bytes | str, *, source: str = "master key") -> MasterKey:
    """A master key from a MasterKey, 32 raw bytes, or base64 text of 32 bytes."""
    if isinstance(value, MasterKey):
        return value
    if isinstance(value, bytes) and len(value) == KEY_BYTES:
        return MasterKey(value)
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    if not isinstance(text, str):
        raise InvalidCommand(f"{source} must be base64 text or {KEY_BYTES} bytes, not a"
                             f" {type(value).__name__}", field="master_key")
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidCommand(f"{source} is not base64 text (of {KEY_BYTES} random bytes)",
                             field="master_key") from None
    if len(raw) != KEY_BYTES:
        raise InvalidCommand(f"{source} holds {len(raw)} bytes, not {KEY_BYTES} (a 256-bit"
                             " key, base64)", field="master_key")
    return MasterKey(raw)


def from_file(path: str | Path) -> MasterKey:
    """A master key from a file holding its base64 text (or its 32 raw bytes)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InvalidCommand(f"cannot read master key file {path}: {e.strerror or e}",
                             field="master_key") from e
    return parse(data if len(data) == KEY_BYTES else data.strip(), source=f"master key file {path}")


def from_environment() -> MasterKey | None:
    """The master key in ``$GOALFLOW_MASTER_KEY``, if set."""
    text = os.environ.get(ENV_VAR)
    return None if not text else parse(text, source=f"${ENV_VAR}")
