"""Where Temporal is: shared by the worker and the client, from flags and environment variables.

Defaults: `localhost:7233`, namespace `default`, task queue `segments`. Temporal Cloud works by
configuration alone: an API key (`TEMPORAL_API_KEY`) or mTLS (`TEMPORAL_TLS_CERT`/`TEMPORAL_TLS_KEY`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.service import TLSConfig

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "segments"


@dataclass(frozen=True)
class ConnectionSettings:
    address: str = DEFAULT_ADDRESS
    namespace: str = DEFAULT_NAMESPACE
    task_queue: str = DEFAULT_TASK_QUEUE
    api_key: str | None = None
    tls: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConnectionSettings:
        env = environ if environ is not None else os.environ
        return cls(
            address=env.get("TEMPORAL_ADDRESS", DEFAULT_ADDRESS),
            namespace=env.get("TEMPORAL_NAMESPACE", DEFAULT_NAMESPACE),
            task_queue=env.get("TEMPORAL_TASK_QUEUE", DEFAULT_TASK_QUEUE),
            api_key=env.get("TEMPORAL_API_KEY") or None,
            tls=env.get("TEMPORAL_TLS", "").lower() in ("1", "true", "yes"),
            tls_cert=env.get("TEMPORAL_TLS_CERT") or None,
            tls_key=env.get("TEMPORAL_TLS_KEY") or None,
            tls_ca=env.get("TEMPORAL_TLS_CA") or None,
        )

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
        """Flags that override the environment; each defaults to None meaning 'keep the environment's'.

        `suppress=True` leaves an unset flag out of the namespace altogether, so that a subcommand's
        copy of the flags does not overwrite what was given before the subcommand."""
        default = argparse.SUPPRESS if suppress else None
        parser.add_argument(
            "--address",
            default=default,
            help=f"Temporal frontend host:port (env TEMPORAL_ADDRESS, default {DEFAULT_ADDRESS})",
        )
        parser.add_argument(
            "--namespace",
            default=default,
            help=f"Temporal namespace (env TEMPORAL_NAMESPACE, default {DEFAULT_NAMESPACE})",
        )
        parser.add_argument(
            "--task-queue",
            default=default,
            help=f"task queue (env TEMPORAL_TASK_QUEUE, default {DEFAULT_TASK_QUEUE})",
        )

    def with_arguments(self, args: argparse.Namespace) -> ConnectionSettings:
        from dataclasses import replace

        return replace(
            self,
            address=getattr(args, "address", None) or self.address,
            namespace=getattr(args, "namespace", None) or self.namespace,
            task_queue=getattr(args, "task_queue", None) or self.task_queue,
        )

    def tls_config(self) -> TLSConfig | bool:
        if self.tls_cert and self.tls_key:
            return TLSConfig(
                client_cert=Path(self.tls_cert).read_bytes(),
                client_private_key=Path(self.tls_key).read_bytes(),
                server_root_ca_cert=Path(self.tls_ca).read_bytes() if self.tls_ca else None,
            )
        return self.tls or bool(self.api_key)

    async def connect(self, data_converter: DataConverter | None = None) -> Client:
        """A client using the payload codec configured by `SEGMENTS_CODEC_*` (none by default)."""
        from client.codec import data_converter_from_env
        from client.tracing import client_interceptors

        return await Client.connect(
            self.address,
            namespace=self.namespace,
            api_key=self.api_key,
            tls=self.tls_config(),
            data_converter=data_converter or data_converter_from_env(),
            interceptors=client_interceptors(),
        )
