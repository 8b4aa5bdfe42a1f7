"""The HTTP gateway: a thin, stateless FastAPI layer over the Temporal client.

Every fact it serves comes from Temporal (queries, history, visibility); it keeps no state of
its own beyond short-lived caches. `create_app(settings)` builds the application.
"""

from gateway.app import create_app
from gateway.settings import GatewaySettings

__all__ = ["GatewaySettings", "create_app"]
