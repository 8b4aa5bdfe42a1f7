"""A tickets and ERP API, as the example segments' `http_action` steps see it.

Tickets (bearer token `tickets_token`):
- `POST /tickets` → 201 with the ticket and its `id` (`T-1001`, `T-1002`...);
- `GET /tickets` → every ticket received.

ERP (bearer token `erp_token`):
- `GET /inventory/{sku}` → `{"sku", "available", "unit_price"}`, or 404 for an unknown SKU;
- `POST /inventory/check` with a list of `{"sku", "qty"}` → `{"available": bool, "lines": [...]}`,
  each line saying whether that SKU has the quantity (an unknown SKU has none);
- `POST /orders` → 201 with the order and its `order_id` (`PO-5001`...);
- `GET /orders` → every order received, so a test or a demo can count them;
- `PUT /outage` → `POST /orders` answers 503 until `DELETE /outage` (no token: a demo switch).

A POST whose `Idempotency-Key` was seen before gets the first answer again (200, nothing new
is recorded): the engine sends the same key on every retry of a step, so a retried step never
creates a second ticket or order. A wrong or missing token gets 401.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

INVENTORY: dict[str, dict[str, Any]] = {
    "KB-101": {"available": 120, "unit_price": 49.0},
    "MS-202": {"available": 35, "unit_price": 19.5},
    "MN-303": {"available": 4, "unit_price": 229.0},
    "CB-404": {"available": 0, "unit_price": 9.9},
}


@dataclass
class Received:
    """One request the API answered, for tests: what a remote log would show."""

    method: str
    path: str
    authorization: str | None
    idempotency_key: str | None
    status: int


@dataclass
class _Collection:
    """Records created by POST (tickets or orders), with their idempotency keys."""

    id_key: str
    prefix: str
    first_number: int
    records: list[dict[str, Any]] = field(default_factory=list)
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)

    def create(self, data: dict[str, Any], key: str | None) -> tuple[int, dict[str, Any]]:
        if key is not None and key in self.by_key:
            return 200, self.by_key[key]
        record = {self.id_key: f"{self.prefix}{self.first_number + len(self.records)}", **data}
        self.records.append(record)
        if key is not None:
            self.by_key[key] = record
        return 201, record


class BusinessApi:
    def __init__(self, *, tickets_token: str, erp_token: str) -> None:
        self.tickets_token = tickets_token
        self.erp_token = erp_token
        self.tickets = _Collection("id", "T-", 1001)
        self.orders = _Collection("order_id", "PO-", 5001)
        self.received: list[Received] = []
        self.outage = False
        """While on, `POST /orders` answers 503: an ERP that is down (`PUT /outage`, `DELETE /outage`)."""

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.router.add_post("/tickets", self._create_ticket)
        app.router.add_get("/tickets", self._list(self.tickets, self.tickets_token))
        app.router.add_post("/inventory/check", self._check_inventory)
        app.router.add_get("/inventory/{sku}", self._inventory)
        app.router.add_post("/orders", self._create_order)
        app.router.add_get("/orders", self._list(self.orders, self.erp_token))
        app.router.add_put("/outage", self._set_outage)
        app.router.add_delete("/outage", self._set_outage)
        return app

    async def _set_outage(self, request: web.Request) -> web.Response:
        self.outage = request.method == "PUT"
        return web.json_response({"outage": self.outage})

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        self.received.append(
            Received(
                request.method,
                request.path,
                request.headers.get("Authorization"),
                request.headers.get("Idempotency-Key"),
                response.status,
            )
        )
        return response

    async def _create_ticket(self, request: web.Request) -> web.Response:
        return await self._create(request, self.tickets, self.tickets_token, {"status": "open"})

    async def _create_order(self, request: web.Request) -> web.Response:
        if self.outage:
            return web.json_response({"error": "the ERP is down for maintenance"}, status=503)
        return await self._create(request, self.orders, self.erp_token, {"state": "accepted"})

    async def _inventory(self, request: web.Request) -> web.Response:
        if (refused := _unauthorized(request, self.erp_token)) is not None:
            return refused
        sku = request.match_info["sku"]
        if sku not in INVENTORY:
            return web.json_response({"error": f"unknown sku {sku}"}, status=404)
        return web.json_response({"sku": sku, **INVENTORY[sku]})

    async def _check_inventory(self, request: web.Request) -> web.Response:
        if (refused := _unauthorized(request, self.erp_token)) is not None:
            return refused
        try:
            items = await request.json()
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return web.json_response({"error": "the body must be a list of {sku, qty}"}, status=400)
        lines = []
        for item in items:
            stock = INVENTORY.get(str(item.get("sku")), {}).get("available", 0)
            lines.append(
                {"sku": item.get("sku"), "qty": item.get("qty"), "in_stock": stock >= (item.get("qty") or 0)}
            )
        return web.json_response({"available": all(line["in_stock"] for line in lines), "lines": lines})

    async def _create(
        self, request: web.Request, collection: _Collection, token: str, extra: dict[str, Any]
    ) -> web.Response:
        if (refused := _unauthorized(request, token)) is not None:
            return refused
        try:
            data = await request.json()
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not isinstance(data, dict):
            return web.json_response({"error": "the body must be a JSON object"}, status=400)
        status, record = collection.create({**data, **extra}, request.headers.get("Idempotency-Key"))
        return web.json_response(record, status=status)

    @staticmethod
    def _list(collection: _Collection, token: str) -> Any:
        async def listing(request: web.Request) -> web.Response:
            if (refused := _unauthorized(request, token)) is not None:
                return refused
            return web.json_response(collection.records)

        return listing


def _unauthorized(request: web.Request, token: str) -> web.Response | None:
    if request.headers.get("Authorization") == f"Bearer {token}":
        return None
    return web.json_response({"error": "missing or wrong bearer token"}, status=401)
