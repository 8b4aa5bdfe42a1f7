"""`with` support for the test stand-ins: anything with start() and stop() runs for a block."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self


class Started:
    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
