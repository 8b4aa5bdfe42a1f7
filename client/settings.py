"""Where Temporal is: shared by the worker and the client, from flags and environment variables.

Read through `temporalio.envconfig`, Temporal's own configuration: its environment variables
(`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS`,
`TEMPORAL_TLS_CLIENT_CERT_PATH`, `TEMPORAL_TLS_CLIENT_KEY_PATH`, `TEMPORAL_TLS_SERVER_CA_CERT_PATH`,
`TEMPORAL_PROFILE`, `TEMPORAL_CONFIG_FILE`) and its profile file. The names this project used
before stay as aliases: `TEMPORAL_TLS_CERT`, `TEMPORAL_TLS_KEY`, `TEMPORAL_TLS_CA`.

Defaults: `localhost:7233`, namespace `default`, task queue `segments` (`TEMPORAL_TASK_QUEUE`, ours:
envconfig has no task queue). Temporal Cloud works by configuration alone: an API key or mTLS.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfigProfile

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "segments"
ALIASES = {
    "TEMPORAL_TLS_CERT": "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_KEY": "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_CA": "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
}
"""Earlier names of this project -> Temporal's standard ones (the standard one wins when both are set)."""


def temporal_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with the old names copied to Temporal's standard ones, and `TEMPORAL_TLS=yes`
    (accepted before) spelled as envconfig reads it."""
    env = dict(environ)
    for old, new in ALIASES.items():
        if env.get(old) and not env.get(new):
            env[new] = env[old]
    if env.get("TEMPORAL_TLS", "").lower() == "yes":
        env["TEMPORAL_TLS"] = "true"
    return env


@dataclass(frozen=True)
class ConnectionSettings:
    address: str = DEFAULT_ADDRESS
    namespace: str = DEFAULT_NAMESPACE
    task_queue: str = DEFAULT_TASK_QUEUE
    profile: ClientConfigProfile = field(default_factory=ClientConfigProfile)
    """Temporal's client profile: API key, TLS, gRPC metadata."""

    @property
    def api_key(self) -> str | None:
        return self.profile.api_key

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConnectionSettings:
        """From the process environment and Temporal's profile file; from `environ` alone when given."""
        env = temporal_environment(environ if environ is not None else os.environ)
        profile = ClientConfigProfile.load(override_env_vars=env, disable_file=environ is not None)
        return cls(
            address=profile.address or DEFAULT_ADDRESS,
            namespace=profile.namespace or DEFAULT_NAMESPACE,
            task_queue=env.get("TEMPORAL_TASK_QUEUE") or DEFAULT_TASK_QUEUE,
            profile=profile,
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

    async def connect(self, data_converter: DataConverter | None = None) -> Client:
        """A client using the payload codec configured by `SEGMENTS_CODEC_*` (none by default)."""
        from client.codec import data_converter_from_env
        from client.tracing import client_interceptors

        config = self.profile.to_client_connect_config()
        return await Client.connect(
            self.address,
            namespace=self.namespace,
            api_key=config.get("api_key"),
            tls=config.get("tls", False),
            rpc_metadata=config.get("rpc_metadata") or {},
            data_converter=data_converter or data_converter_from_env(),
            interceptors=client_interceptors(),
        )
