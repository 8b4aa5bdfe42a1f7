"""Payload codec: zlib compression and AES-256-GCM encryption of every payload.

The worker and every client must use the same data converter, so both call
`data_converter_from_env()`. Configuration (environment variables):

- `SEGMENTS_CODEC_KEYS`: comma-separated `keyid:base64key`; each key is 32 random bytes
  (`python -c "import os, base64; print(base64.b64encode(os.urandom(32)).decode())"`).
- `SEGMENTS_CODEC_KEY_ID`: the id of the key used to encode. Optional when exactly one
  key is loaded. Rotation: add the new key to `SEGMENTS_CODEC_KEYS`, roll out, then point
  `SEGMENTS_CODEC_KEY_ID` at it; keep the old key loaded while histories encoded with it
  are still retained, since decoding picks the key named by the payload.
- `SEGMENTS_CODEC_COMPRESS`: `1` without keys gives a compression-only codec (no
  confidentiality, smaller histories); `0` with keys encrypts without compressing (for
  the cautious: compressing attacker-influenced data before encrypting leaks length
  information). Default: compress.

Encrypted payload: `metadata["encoding"] = b"binary/encrypted"`,
`metadata["encryption-key-id"]`, `metadata["compression"] = b"zlib"` when compressed;
`data = nonce (12 random bytes) || AES-GCM(ciphertext || tag)` of the serialized inner
`Payload` (so its own metadata is hidden too). The key id is bound as associated data,
so relabelling a payload with another key id fails authentication.
Compressed-only payload: `metadata["encoding"] = b"binary/zlib"`.

Decoding always understands both formats and passes any other payload through, so a
deployment can turn encryption on without breaking existing histories. That also means
anyone who can start or signal workflows in the namespace can send plaintext the worker will
accept: encryption alone hides data, it does not authenticate it. Once every history is
encrypted, `SEGMENTS_CODEC_REQUIRE_ENCRYPTION=1` makes decoding refuse any payload that is not
`binary/encrypted` (plaintext and `binary/zlib` alike).

Decompression is bounded: a payload that inflates past `SEGMENTS_CODEC_MAX_DECODED_BYTES`
(default 32 MiB, 16 times Temporal's 2 MiB payload limit) is refused before more is inflated,
so a small "zip bomb" cannot exhaust the worker's memory. With encryption
on, failure messages and stack traces are moved into encoded attributes as well
(`DefaultFailureConverterWithEncodedAttributes`); search attributes are never encoded
(the server must index them), so keep secrets out of them.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import zlib
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

ENCRYPTED_ENCODING = b"binary/encrypted"
COMPRESSED_ENCODING = b"binary/zlib"
KEY_ID_METADATA = "encryption-key-id"
COMPRESSION_METADATA = "compression"
NONCE_SIZE = 12
KEY_SIZE = 32

ENV_KEYS = "SEGMENTS_CODEC_KEYS"
ENV_KEY_ID = "SEGMENTS_CODEC_KEY_ID"
ENV_COMPRESS = "SEGMENTS_CODEC_COMPRESS"
ENV_REQUIRE_ENCRYPTION = "SEGMENTS_CODEC_REQUIRE_ENCRYPTION"
ENV_MAX_DECODED = "SEGMENTS_CODEC_MAX_DECODED_BYTES"
DEFAULT_MAX_DECODED_BYTES = 32 * 1024 * 1024


class CodecError(Exception):
    """A payload cannot be decoded, or the codec is misconfigured.

    Messages name key ids, never key material."""


class CodecConfigError(CodecError, ValueError):
    """The `SEGMENTS_CODEC_*` settings are not valid."""


class PlaintextRefusedError(CodecError):
    """Encryption is required and a payload is not encrypted."""


class PayloadTooLargeError(CodecError):
    """A compressed payload inflates past the bound."""


class UnknownKeyError(CodecError):
    """A payload names a key id that is not loaded."""


class PayloadDecryptionError(CodecError):
    """A payload failed authentication: tampered with, truncated, or wrong key."""


class SegmentsCodec(PayloadCodec):
    """Compresses and/or encrypts payloads; see the module docstring for the format."""

    def __init__(
        self,
        keys: Mapping[str, bytes] | None = None,
        current_key_id: str | None = None,
        *,
        compress: bool = True,
        require_encryption: bool = False,
        max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    ) -> None:
        self._keys: dict[str, AESGCM] = {}
        for key_id, key in (keys or {}).items():
            _check_key_id(key_id)
            if len(key) != KEY_SIZE:
                raise CodecConfigError(f"key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_SIZE}")
            self._keys[key_id] = AESGCM(key)
        if current_key_id is None and len(self._keys) == 1:
            current_key_id = next(iter(self._keys))
        if self._keys and current_key_id is None:
            raise CodecConfigError(f"several keys are loaded: set {ENV_KEY_ID} to one of {self.key_ids}")
        if current_key_id is not None and current_key_id not in self._keys:
            raise CodecConfigError(
                f"current key id {current_key_id!r} is not among the loaded keys {self.key_ids}"
            )
        if require_encryption and current_key_id is None:
            raise CodecConfigError(f"{ENV_REQUIRE_ENCRYPTION} is set but no key is loaded ({ENV_KEYS})")
        self.current_key_id = current_key_id
        self.compress = compress
        self.require_encryption = require_encryption
        self.max_decoded_bytes = max_decoded_bytes

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    @property
    def encrypts(self) -> bool:
        return self.current_key_id is not None

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encode_one(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decode_one(p) for p in payloads]

    def encode_one(self, payload: Payload) -> Payload:
        inner = payload.SerializeToString(deterministic=True)
        if self.current_key_id is None:
            if not self.compress:
                return payload
            return Payload(metadata={"encoding": COMPRESSED_ENCODING}, data=zlib.compress(inner))
        metadata = {"encoding": ENCRYPTED_ENCODING, KEY_ID_METADATA: self.current_key_id.encode()}
        if self.compress:
            inner = zlib.compress(inner)
            metadata[COMPRESSION_METADATA] = b"zlib"
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._keys[self.current_key_id].encrypt(nonce, inner, self.current_key_id.encode())
        return Payload(metadata=metadata, data=nonce + sealed)

    def decode_one(self, payload: Payload) -> Payload:
        encoding = payload.metadata.get("encoding")
        if encoding != ENCRYPTED_ENCODING and self.require_encryption:
            shown = encoding.decode("utf-8", "replace")[:40] if encoding else "none"
            raise PlaintextRefusedError(
                f"payload with encoding {shown!r} refused: {ENV_REQUIRE_ENCRYPTION} is set, so only "
                "encrypted payloads are accepted (send it through a client with the same codec settings)"
            )
        if encoding == COMPRESSED_ENCODING:
            return _parse_inner(_decompress(payload.data, self.max_decoded_bytes))
        if encoding != ENCRYPTED_ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
        aead = self._keys.get(key_id)
        if aead is None:
            raise UnknownKeyError(
                f"payload is encrypted with key id {key_id!r}, which is not loaded "
                f"(loaded: {self.key_ids or 'none'}); add it to {ENV_KEYS}"
            )
        nonce, sealed = payload.data[:NONCE_SIZE], payload.data[NONCE_SIZE:]
        try:
            inner = aead.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r} failed authentication (tampered or wrong key)"
            ) from None
        if payload.metadata.get(COMPRESSION_METADATA) == b"zlib":
            inner = _decompress(inner, self.max_decoded_bytes)
        return _parse_inner(inner)


def _check_key_id(key_id: str) -> None:
    if not key_id or any(c in key_id for c in ",: \t\n"):
        raise CodecConfigError(f"invalid key id {key_id!r}: non-empty, without ',', ':' or spaces")


def _decompress(data: bytes, limit: int) -> bytes:
    """`data` inflated, refusing at `limit + 1` bytes without inflating more."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as err:
        raise CodecError(f"compressed payload is corrupt: {err}") from None
    if len(out) > limit:
        raise PayloadTooLargeError(
            f"compressed payload of {len(data)} bytes inflates past {limit} bytes "
            f"({ENV_MAX_DECODED}); refused"
        )
    if not inflater.eof:
        raise CodecError("compressed payload is corrupt: truncated")
    return out


def _parse_inner(data: bytes) -> Payload:
    inner = Payload()
    try:
        inner.ParseFromString(data)
    except Exception as err:  # protobuf's DecodeError is not exported stably
        raise CodecError(f"decoded payload is not a Payload: {err}") from None
    return inner


def parse_keys(spec: str) -> dict[str, bytes]:
    """Parse `keyid:base64key,...`; errors name the key id, never the key."""
    keys: dict[str, bytes] = {}
    for index, item in enumerate(part.strip() for part in spec.split(",")):
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        key_id = key_id.strip()
        if not sep:
            raise CodecConfigError(f"{ENV_KEYS} entry #{index + 1} is not of the form keyid:base64key")
        _check_key_id(key_id)
        if key_id in keys:
            raise CodecConfigError(f"key id {key_id!r} appears twice in {ENV_KEYS}")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CodecConfigError(f"key {key_id!r} in {ENV_KEYS} is not valid base64") from None
        if len(key) != KEY_SIZE:
            raise CodecConfigError(
                f"key {key_id!r} in {ENV_KEYS} is {len(key)} bytes; AES-256 needs {KEY_SIZE}"
            )
        keys[key_id] = key
    return keys


def _flag(value: str | None, name: str = ENV_COMPRESS) -> bool | None:
    if value is None or not value.strip():
        return None
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise CodecConfigError(f"{name} must be 1 or 0, not {value!r}")


def _max_decoded(value: str | None) -> int:
    if value is None or not value.strip():
        return DEFAULT_MAX_DECODED_BYTES
    if not value.strip().isdigit() or int(value) < 1024:
        raise CodecConfigError(f"{ENV_MAX_DECODED} must be a number of bytes, at least 1024, not {value!r}")
    return int(value)


def codec_from_env(env: Mapping[str, str] | None = None) -> SegmentsCodec | None:
    """The codec configured by `SEGMENTS_CODEC_*`, or None when neither encryption nor
    compression is asked for. Raises `CodecConfigError` on a bad configuration."""
    env = os.environ if env is None else env
    keys = parse_keys(env.get(ENV_KEYS, ""))
    compress = _flag(env.get(ENV_COMPRESS))
    key_id = env.get(ENV_KEY_ID, "").strip() or None
    required = _flag(env.get(ENV_REQUIRE_ENCRYPTION), ENV_REQUIRE_ENCRYPTION) is True
    max_decoded = _max_decoded(env.get(ENV_MAX_DECODED))
    if not keys:
        if key_id is not None:
            raise CodecConfigError(f"{ENV_KEY_ID} is set but {ENV_KEYS} is empty")
        if required:
            raise CodecConfigError(f"{ENV_REQUIRE_ENCRYPTION} is set but {ENV_KEYS} is empty")
        return SegmentsCodec(compress=True, max_decoded_bytes=max_decoded) if compress else None
    return SegmentsCodec(
        keys,
        key_id,
        compress=compress is not False,
        require_encryption=required,
        max_decoded_bytes=max_decoded,
    )


def data_converter_from_env(env: Mapping[str, str] | None = None) -> DataConverter:
    """The data converter for workers and clients: the default one, plus the codec when
    configured (and, when encrypting, failure messages moved into encoded attributes)."""
    codec = codec_from_env(env)
    return data_converter_for(codec)


def data_converter_for(codec: SegmentsCodec | None) -> DataConverter:
    """The default data converter with `codec` (None: the plain default converter)."""
    base = DataConverter.default
    if codec is None:
        return base
    if codec.encrypts:
        return dataclasses.replace(
            base,
            payload_codec=codec,
            failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
        )
    return dataclasses.replace(base, payload_codec=codec)
