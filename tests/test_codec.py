"""The payload codec, its env configuration, and the codec server, against a real dev server."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import sys
import tracemalloc
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import json_format
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.client import Client
from temporalio.converter import DefaultFailureConverterWithEncodedAttributes
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from client.codec import (
    COMPRESSED_ENCODING,
    DEFAULT_MAX_DECODED_BYTES,
    CodecConfigError,
    PayloadDecryptionError,
    PayloadTooLargeError,
    PlaintextRefusedError,
    SegmentsCodec,
    UnknownKeyError,
    codec_from_env,
    data_converter_for,
    data_converter_from_env,
)
from client.codec_server import create_app
from client.codec_server import main as codec_server_main

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
B64_A = base64.b64encode(KEY_A).decode()
B64_B = base64.b64encode(KEY_B).decode()
CANARY = "canary-9f27c1-do-not-leak"
CODEC_TOKEN = "codec-token-for-tests"
AUTH = {"Authorization": f"Bearer {CODEC_TOKEN}"}


def _plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


async def _round_trip(encoder: SegmentsCodec, decoder: SegmentsCodec, payload: Payload) -> Payload:
    [encoded] = await encoder.encode([payload])
    [decoded] = await decoder.decode([encoded])
    return decoded


async def test_round_trip_hides_data_and_metadata() -> None:
    codec = SegmentsCodec({"a": KEY_A}, "a")
    payload = _plain(CANARY * 20)
    [encoded] = await codec.encode([payload])
    assert encoded.metadata["encoding"] == b"binary/encrypted"
    assert encoded.metadata["encryption-key-id"] == b"a"
    assert CANARY.encode() not in encoded.data and b"json/plain" not in encoded.data
    assert len(encoded.data) < len(payload.data)  # compressed before encryption
    [again] = await codec.encode([payload])
    assert again.data[:12] != encoded.data[:12]  # a fresh nonce every time
    assert (await codec.decode([encoded]))[0] == payload


async def test_rotation_old_key_still_decodes() -> None:
    old = SegmentsCodec({"a": KEY_A}, "a")
    rotated = SegmentsCodec({"a": KEY_A, "b": KEY_B}, "b")
    [by_a] = await old.encode([_plain("x")])
    [by_b] = await rotated.encode([_plain("y")])
    assert by_b.metadata["encryption-key-id"] == b"b"
    assert await rotated.decode([by_a, by_b]) == [_plain("x"), _plain("y")]
    with pytest.raises(UnknownKeyError, match="'b'") as err:
        await old.decode([by_b])
    assert B64_A not in str(err.value) and B64_B not in str(err.value)


async def test_tampered_or_relabelled_payload_fails() -> None:
    codec = SegmentsCodec({"a": KEY_A, "b": KEY_B}, "a")
    [encoded] = await codec.encode([_plain("secret")])
    tampered = Payload()
    tampered.CopyFrom(encoded)
    tampered.data = encoded.data[:-1] + bytes([encoded.data[-1] ^ 1])
    with pytest.raises(PayloadDecryptionError, match="'a'"):
        await codec.decode([tampered])
    relabelled = Payload()
    relabelled.CopyFrom(encoded)
    relabelled.metadata["encryption-key-id"] = b"b"
    with pytest.raises(PayloadDecryptionError):
        await codec.decode([relabelled])


async def test_plain_payloads_pass_through_and_compression_only() -> None:
    codec = SegmentsCodec({"a": KEY_A})
    assert (await codec.decode([_plain("old")]))[0] == _plain("old")
    zipped = SegmentsCodec(compress=True)
    [encoded] = await zipped.encode([_plain("z" * 500)])
    assert encoded.metadata["encoding"] == b"binary/zlib" and len(encoded.data) < 100
    # An encrypting codec still reads payloads written while only compression was on.
    assert await _round_trip(zipped, codec, _plain("z" * 500)) == _plain("z" * 500)


def test_env_configuration() -> None:
    assert codec_from_env({}) is None
    assert data_converter_from_env({}).payload_codec is None
    zipped = codec_from_env({"SEGMENTS_CODEC_COMPRESS": "1"})
    assert zipped is not None and not zipped.encrypts
    one = codec_from_env({"SEGMENTS_CODEC_KEYS": f"a:{B64_A}"})
    assert one is not None and one.current_key_id == "a"
    two = codec_from_env({"SEGMENTS_CODEC_KEYS": f"a:{B64_A}, b:{B64_B}", "SEGMENTS_CODEC_KEY_ID": "b"})
    assert two is not None and two.current_key_id == "b" and two.key_ids == ["a", "b"]
    converter = data_converter_for(two)
    assert converter.payload_codec is two
    assert isinstance(converter.failure_converter, DefaultFailureConverterWithEncodedAttributes)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SEGMENTS_CODEC_KEYS": f"a:{B64_A},b:{B64_B}"}, "SEGMENTS_CODEC_KEY_ID"),
        ({"SEGMENTS_CODEC_KEYS": f"a:{B64_A}", "SEGMENTS_CODEC_KEY_ID": "c"}, "'c'"),
        ({"SEGMENTS_CODEC_KEYS": "a:" + base64.b64encode(b"short").decode()}, "5 bytes"),
        ({"SEGMENTS_CODEC_KEYS": "a:not*base64"}, "not valid base64"),
        ({"SEGMENTS_CODEC_KEYS": f"a:{B64_A},a:{B64_B}"}, "twice"),
        ({"SEGMENTS_CODEC_KEY_ID": "a"}, "empty"),
    ],
)
def test_env_errors_name_the_key_id_never_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(CodecConfigError, match=message) as err:
        codec_from_env(env)
    assert B64_A not in str(err.value) and B64_B not in str(err.value) and "not*base64" not in str(err.value)


# --- end to end: a real dev server, a worker with the codec, a client without it ----------


@activity.defn(name="shout")
async def shout(text: str) -> str:
    return text.upper()


@activity.defn(name="explode")
async def explode(text: str) -> str:
    raise ApplicationError(f"refusing {text}", non_retryable=True)


TIMEOUT = timedelta(seconds=10)


@workflow.defn(name="CodecEcho")
class CodecEcho:
    @workflow.run
    async def run(self, data: dict[str, Any]) -> dict[str, Any]:
        loud = await workflow.execute_activity(shout, data["text"], start_to_close_timeout=TIMEOUT)
        try:
            await workflow.execute_activity(explode, data["text"], start_to_close_timeout=TIMEOUT)
        except ActivityError as err:
            error = str(err.cause)
        return {"echo": data, "loud": loud, "error": error}


def temporal_cli() -> str:
    found = shutil.which("temporal") or str(Path(sys.prefix) / "bin" / "temporal")
    if not os.path.exists(found):
        pytest.skip("temporal CLI not found")
    return found


def _leak_forms(text: str) -> list[str]:
    """`text` and the inner parts of its base64 forms at each of the 3 byte alignments."""
    forms = [text]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + text.encode()).decode()
        forms.append(encoded[4:-4])
    return forms


@pytest.fixture
async def codec_http() -> AsyncIterator[str]:
    codec = SegmentsCodec({"old": KEY_B, "k1": KEY_A}, "k1")
    app = create_app(codec, tokens={CODEC_TOKEN: frozenset({"default"})}, allow_encode=True)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_end_to_end_history_is_encrypted_and_codec_server_decodes(codec_http: str) -> None:
    codec = SegmentsCodec({"k1": KEY_A}, "k1")
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), data_converter=data_converter_for(codec)
    ) as env:
        async with Worker(
            env.client,
            task_queue="codec-e2e",
            workflows=[CodecEcho],
            activities=[shout, explode],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            workflow_id = f"codec-{uuid.uuid4()}"
            result = await env.client.execute_workflow(
                CodecEcho.run, {"text": CANARY}, id=workflow_id, task_queue="codec-e2e"
            )
        assert result["loud"] == CANARY.upper() and CANARY in result["error"]

        plain = await Client.connect(env.client.service_client.config.target_host, namespace="default")
        history = await plain.get_workflow_handle(workflow_id).fetch_history()
        raw_json = history.to_json()
        raw_bytes = History(events=history.events).SerializeToString()
        for form in _leak_forms(CANARY) + _leak_forms(CANARY.upper()):
            assert form not in raw_json
            assert form.encode() not in raw_bytes
        assert "binary/encrypted" in raw_json or base64.b64encode(b"binary/encrypted").decode() in raw_json

    started = history.to_json_dict()["events"][0]["workflowExecutionStartedEventAttributes"]["input"]
    async with httpx.AsyncClient(base_url=codec_http, headers=AUTH) as http:
        response = await http.post("/decode", json=started, headers={"X-Namespace": "default"})
        assert response.status_code == 200, response.text
        [decoded] = response.json()["payloads"]
        assert CANARY in base64.b64decode(decoded["data"]).decode()
        assert base64.b64decode(decoded["metadata"]["encoding"]) == b"json/plain"

        # The Web UI's flow: preflight from its origin, then the POST with X-Namespace.
        preflight = await http.options(
            "/decode",
            headers={
                "Origin": "http://localhost:8233",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "http://localhost:8233"
        assert "x-namespace" in preflight.headers["access-control-allow-headers"].lower()
        foreign = await http.options(
            "/decode", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in foreign.headers

        refused = await http.post("/decode", json=started, headers={"X-Namespace": "other"})
        assert refused.status_code == 403
        # Round trip through /encode then /decode with the path-namespace form.
        encoded = await http.post("/default/encode", json=response.json())
        assert base64.b64decode(encoded.json()["payloads"][0]["metadata"]["encoding"]) == b"binary/encrypted"
        back = await http.post("/default/decode", json=encoded.json())
        assert back.json() == response.json()
        unknown_key = {
            "metadata": {
                "encoding": base64.b64encode(b"binary/encrypted").decode(),
                "encryption-key-id": base64.b64encode(b"retired").decode(),
            },
            "data": base64.b64encode(b"\0" * 40).decode(),
        }
        bad = await http.post("/default/decode", json={"payloads": [unknown_key]})
        assert bad.status_code == 400 and "'retired'" in bad.json()["error"]
        not_json = await http.post("/default/decode", content=b"{not json")
        assert not_json.status_code == 400


# --- Review M5: plaintext refused when encryption is required; bounded decompression --------


def _bomb(size: int) -> bytes:
    """A zlib stream of `size` zero bytes: tiny on the wire, huge inflated."""
    return zlib.compress(b"\0" * size, 9)


async def test_plaintext_and_compressed_only_payloads_are_refused_when_encryption_is_required() -> None:
    codec = codec_from_env(
        {
            "SEGMENTS_CODEC_KEYS": f"k1:{base64.b64encode(KEY_A).decode()}",
            "SEGMENTS_CODEC_REQUIRE_ENCRYPTION": "1",
        }
    )
    assert codec is not None and codec.require_encryption
    forged = Payload(metadata={"encoding": b"json/plain"}, data=b'{"responder":"cfo","decision":"approve"}')
    zipped = SegmentsCodec(compress=True).encode_one(forged)
    for payload in (forged, zipped):
        with pytest.raises(PlaintextRefusedError, match="SEGMENTS_CODEC_REQUIRE_ENCRYPTION"):
            await codec.decode([payload])
    [sealed] = await codec.encode([forged])
    assert (await codec.decode([sealed]))[0] == forged  # what the codec itself wrote still decodes
    with pytest.raises(CodecConfigError):
        codec_from_env({"SEGMENTS_CODEC_REQUIRE_ENCRYPTION": "1"})


async def test_a_zip_bomb_is_refused_within_the_bound() -> None:
    """128 MiB of zeros in 128 KiB: refused at the 32 MiB bound, never inflated whole."""
    bomb = Payload(metadata={"encoding": COMPRESSED_ENCODING}, data=_bomb(128 * 1024 * 1024))
    codec = SegmentsCodec({"k1": KEY_A}, "k1")
    sealed_bomb = Payload(
        metadata={"encoding": b"binary/encrypted", "encryption-key-id": b"k1", "compression": b"zlib"},
        data=_seal(KEY_A, "k1", bomb.data),
    )
    for payload in (bomb, sealed_bomb):
        tracemalloc.start()
        try:
            with pytest.raises(PayloadTooLargeError, match="SEGMENTS_CODEC_MAX_DECODED_BYTES"):
                await codec.decode([payload])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 3 * DEFAULT_MAX_DECODED_BYTES


def _seal(key: bytes, key_id: str, data: bytes) -> bytes:
    nonce = b"\1" * 12
    return nonce + AESGCM(key).encrypt(nonce, data, key_id.encode())


# --- Review L1: the codec server authenticates, checks Host, keeps /encode off, binds namespaces ----


def _codec_app(**options: Any) -> Any:
    codec = SegmentsCodec({"k1": KEY_A}, "k1")
    return create_app(codec, tokens={CODEC_TOKEN: frozenset({"prod"})}, **options)


def _asgi(app: Any, host: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}:8081")


async def test_codec_server_refuses_unauthenticated_and_foreign_requests() -> None:
    codec = SegmentsCodec({"k1": KEY_A}, "k1")
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'{"a":1}')])
    body = {"payloads": [json_format.MessageToDict(sealed)]}
    app = _codec_app()
    async with _asgi(app) as http:
        assert (await http.post("/decode", json=body)).status_code == 401
        assert (
            await http.post("/decode", json=body, headers={"Authorization": "Bearer nope"})
        ).status_code == 401
        served = await http.post("/decode", json=body, headers=AUTH)  # one namespace: no need to say it
        assert (
            served.status_code == 200 and base64.b64decode(served.json()["payloads"][0]["data"]) == b'{"a":1}'
        )
        # the token, not the caller, says which namespace it may decode
        assert (
            await http.post("/decode", json=body, headers={**AUTH, "X-Namespace": "dev"})
        ).status_code == 403
        assert (await http.post("/dev/decode", json=body, headers=AUTH)).status_code == 403
        assert (await http.post("/prod/decode", json=body, headers=AUTH)).status_code == 200
        # no forging of encrypted payloads unless asked for
        assert (await http.post("/encode", json=served.json(), headers=AUTH)).status_code == 403
        big = b'{"payloads": [' + b" " * (5 * 1024 * 1024) + b"]}"
        assert (await http.post("/decode", content=big, headers=AUTH)).status_code == 413
    async with _asgi(app, host="rebound.attacker.example") as http:  # DNS rebinding to 127.0.0.1
        assert (await http.post("/decode", json=body, headers=AUTH)).status_code == 400
    with pytest.raises(ValueError, match="SEGMENTS_CODEC_SERVER_TOKENS"):
        create_app(codec)
    assert create_app(codec, no_auth=True) is not None


def test_codec_server_will_not_start_unauthenticated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMENTS_CODEC_KEYS", f"k1:{base64.b64encode(KEY_A).decode()}")
    monkeypatch.delenv("SEGMENTS_CODEC_SERVER_TOKENS", raising=False)
    assert codec_server_main([]) == 2
    assert codec_server_main(["--no-auth", "--host", "0.0.0.0"]) == 2
