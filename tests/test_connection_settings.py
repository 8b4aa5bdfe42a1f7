"""Temporal connection settings come through temporalio.envconfig; the old names still work."""

from __future__ import annotations

from pathlib import Path

from temporalio.service import TLSConfig

from client.settings import ConnectionSettings


def test_defaults() -> None:
    settings = ConnectionSettings.from_env({})
    assert (settings.address, settings.namespace, settings.task_queue) == (
        "localhost:7233",
        "default",
        "segments",
    )
    assert settings.profile.to_client_connect_config() == {}


def test_temporal_standard_names_are_read(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("CERT")
    key.write_text("KEY")
    settings = ConnectionSettings.from_env(
        {
            "TEMPORAL_ADDRESS": "acme.tmprl.cloud:7233",
            "TEMPORAL_NAMESPACE": "acme",
            "TEMPORAL_TASK_QUEUE": "orders",
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key),
        }
    )
    assert (settings.address, settings.namespace, settings.task_queue) == (
        "acme.tmprl.cloud:7233",
        "acme",
        "orders",
    )
    tls = settings.profile.to_client_connect_config()["tls"]
    assert isinstance(tls, TLSConfig) and tls.client_cert == b"CERT" and tls.client_private_key == b"KEY"


def test_the_old_names_are_aliases(tmp_path: Path) -> None:
    cert, key, ca = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    for path in (cert, key, ca):
        path.write_text(path.stem.upper())
    settings = ConnectionSettings.from_env(
        {"TEMPORAL_TLS_CERT": str(cert), "TEMPORAL_TLS_KEY": str(key), "TEMPORAL_TLS_CA": str(ca)}
    )
    tls = settings.profile.to_client_connect_config()["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key, tls.server_root_ca_cert) == (b"C", b"K", b"CA")


def test_an_api_key_turns_tls_on_and_yes_means_true() -> None:
    assert ConnectionSettings.from_env({"TEMPORAL_API_KEY": "k"}).profile.to_client_connect_config() == {
        "api_key": "k",
        "tls": True,
    }
    tls = ConnectionSettings.from_env({"TEMPORAL_TLS": "yes"}).profile.to_client_connect_config()["tls"]
    assert tls is not False
