"""Config model of the `http_action` step: one HTTP request, made by the worker.

Pure pydantic (workflow code may import it). The workflow renders every `{% ... %}`
template before the activity sees the config, so the activity validates plain values
with this model; the definition validator may meet unrendered templates and skips those.

Secrets are named, never inlined: `auth.secret` is the name of a secret that the worker
resolves (by default from `SEGMENTS_SECRET_<NAME>`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from segments.connection_paths import path_problem
from segments.durations import DurationError, parse_duration
from segments.schemas import checked_schema

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
QueryValue = str | int | float | bool

_SECRET_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
CONNECTION_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
"""Connection and model-ref names: an environment variable suffix (case-insensitive)."""
_SECRET_DESCRIPTION = (
    "Name of a secret on the worker (SEGMENTS_SECRET_<NAME> by default), sent only to the hosts "
    "SEGMENTS_SECRET_<NAME>_HOSTS binds it to."
)


class NoAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["none"] = Field(description="No authentication.")


class BearerAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["bearer"] = Field(description="Send `Authorization: Bearer <secret>`.")
    secret: str = Field(pattern=_SECRET_NAME, description=_SECRET_DESCRIPTION)


class BasicAuth(BaseModel):
    """HTTP Basic: either the secret holds `user:password`, or `username` is given and the
    secret holds the password alone."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["basic"] = Field(description="Send `Authorization: Basic base64(user:password)`.")
    secret: str = Field(
        pattern=_SECRET_NAME,
        description="Name of a secret on the worker holding `user:password`, "
        "or only the password when `username` is set.",
    )
    username: str | None = Field(
        default=None,
        description="The user name, when the secret holds only the password.",
    )


class ApiKeyAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["api_key"] = Field(description="Send the secret in a header of its own.")
    secret: str = Field(pattern=_SECRET_NAME, description=_SECRET_DESCRIPTION)
    header: str = Field(
        default="X-API-Key",
        pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
        description="The header that carries the key.",
    )


HttpAuth = Annotated[NoAuth | BearerAuth | BasicAuth | ApiKeyAuth, Field(discriminator="type")]


class HttpActionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: HttpMethod = Field(default="GET", description="The HTTP method.")
    url: str | None = Field(
        default=None,
        min_length=1,
        description="Absolute http:// or https:// URL (or give `connection` and `path`). The worker's "
        "egress guard refuses private, loopback and cloud-metadata addresses unless SEGMENTS_HTTP_ALLOW "
        "opens them.",
        json_schema_extra={"format": "uri"},
    )
    connection: str | None = Field(
        default=None,
        pattern=CONNECTION_NAME,
        description="A connection configured on the worker (SEGMENTS_CONNECTION_<NAME>, names are "
        "case-insensitive): its base URL, auth and headers; instead of `url` and `auth`.",
        json_schema_extra={"x-options": "connections"},
    )
    path: str | None = Field(
        default=None,
        max_length=2048,
        description="With `connection`: the path under the connection's base URL, e.g. `/orders`. It can "
        "never leave the base URL: absolute URLs, `//host`, `@host`, backslashes, `..` and their "
        "percent-encodings are refused.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Request headers. X-Correlation-ID, X-Tenant-ID and Idempotency-Key are added by "
        "the engine (an Idempotency-Key given here wins).",
    )
    query: dict[str, QueryValue] = Field(
        default_factory=dict,
        description="Query-string parameters, added to any already in the URL.",
    )
    body: Any = Field(
        default=None,
        description="Request body: a string is sent as is (text/plain unless Content-Type says "
        "otherwise), any other JSON value is sent as JSON.",
    )
    auth: HttpAuth = Field(
        default_factory=lambda: NoAuth(type="none"),
        description="How to authenticate; the credential comes from a named worker secret.",
    )
    timeout: str | None = Field(
        default=None,
        description="ISO 8601 duration for the whole request, redirects included (e.g. PT30S); "
        "the worker's default (SEGMENTS_HTTP_TIMEOUT) when absent.",
        json_schema_extra={"format": "duration"},
    )
    request_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema the body must match before anything is sent.",
    )
    response_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema the response body must match.",
    )
    max_response_bytes: int | None = Field(
        default=None,
        gt=0,
        description="Largest response body accepted, in bytes; may lower, never raise, the worker's "
        "SEGMENTS_HTTP_MAX_RESPONSE_BYTES (1 MiB by default).",
    )

    @field_validator("request_schema", "response_schema")
    @classmethod
    def _self_contained(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return checked_schema(value)

    @field_validator("timeout")
    @classmethod
    def _check_timeout(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                if parse_duration(value).total_seconds() <= 0:
                    raise ValueError("timeout must be longer than zero")
            except DurationError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("url")
    @classmethod
    def _check_scheme(cls, value: str | None) -> str | None:
        if value is not None and "{%" not in value and not value.lower().startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str | None) -> str | None:
        if value is not None and "{%" not in value:
            problem = path_problem(value)
            if problem is not None:
                raise ValueError(f"path {problem}")
        return value

    @model_validator(mode="after")
    def _url_or_connection(self) -> HttpActionConfig:
        if self.connection is None:
            if self.url is None:
                raise ValueError("give `url`, or `connection` and `path`")
            if self.path is not None:
                raise ValueError("`path` goes with `connection`; with `url`, put the path in the url")
        else:
            if self.url is not None:
                raise ValueError("give either `url` or `connection` (with `path`), not both")
            if "auth" in self.model_fields_set:
                raise ValueError("a connection brings its own auth; remove `auth`")
        return self
