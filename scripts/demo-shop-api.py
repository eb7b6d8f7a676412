#!/usr/bin/env python3
"""A tiny fake order API for the demo shop (Python standard library only).

Serves a handful of made-up orders three ways, so that the order-status flow can be tried
with the generic action and with both presets:
  GET /orders/<number>                                  the demo's own API (intents/order_status.yaml)
  GET /admin/api/<version>/orders.json?name=%23<number> shaped like Shopify's Admin REST API
  GET /wp-json/wc/v3/orders/<number>                    shaped like WooCommerce's REST API v3

Order 10426 answers after 10 s (a timeout for the bot), 10427 with HTTP 500. With
DEMO_SHOP_TOKEN set, /orders/ wants `Authorization: Bearer <token>`. Listens on 127.0.0.1.

  scripts/demo-shop-api.py [--port 8099] [--parent-pid PID]
"""

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ORDERS = {
    "10423": {"status": "shipped", "email": "ana@example.com", "carrier": "PostNL",
              "tracking_url": "https://tracking.example/3SNHV10423", "delivery_date": "2026-12-09",
              "total": "129.90"},
    "10424": {"status": "processing", "email": "ben@example.com", "carrier": None,
              "tracking_url": None, "delivery_date": None, "total": "59.00"},
    "10425": {"status": "delivered", "email": "carla@example.com", "carrier": "DHL",
              "tracking_url": "https://tracking.example/JD0142510425", "delivery_date": "2026-12-01",
              "total": "249.00"},
    "10428": {"status": "cancelled", "email": "dirk@example.com", "carrier": None,
              "tracking_url": None, "delivery_date": None, "total": "19.95"},
}
SLOW = "10426"
BROKEN = "10427"


def shopify(number, order):
    fulfilled = order["status"] in ("shipped", "delivered")
    fulfillments = []
    if fulfilled:
        fulfillments.append({
            "id": int(number) * 10, "status": "success",
            "shipment_status": "delivered" if order["status"] == "delivered" else "in_transit",
            "tracking_company": order["carrier"], "tracking_number": number + "X",
            "tracking_numbers": [number + "X"], "tracking_url": order["tracking_url"],
            "tracking_urls": [order["tracking_url"]],
        })
    return {
        "id": int(number) * 1000, "name": "#" + number, "email": order["email"],
        "contact_email": order["email"], "financial_status": "refunded"
        if order["status"] == "cancelled" else "paid",
        "fulfillment_status": "fulfilled" if fulfilled else None,
        "cancelled_at": "2026-12-02T10:00:00+01:00" if order["status"] == "cancelled" else None,
        "total_price": order["total"], "currency": "EUR", "fulfillments": fulfillments,
    }


def woocommerce(number, order):
    status = {"shipped": "completed", "delivered": "completed"}.get(order["status"], order["status"])
    meta = []
    if order["carrier"]:
        meta.append({"id": 1, "key": "_wc_shipment_tracking_items", "value": [{
            "tracking_provider": order["carrier"], "custom_tracking_provider": "",
            "custom_tracking_link": order["tracking_url"], "tracking_number": number + "X"}]})
    return {"id": int(number), "number": number, "status": status, "currency": "EUR",
            "total": order["total"], "billing": {"email": order["email"]}, "meta_data": meta}


class Handler(BaseHTTPRequestHandler):
    server_version = "demo-shop-api"

    def log_message(self, fmt, *args):  # quiet: the demo's terminal is for the chat
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def lookup(self, number):
        """The order, or a reply already sent (slow, broken, missing)."""
        if number == SLOW:
            time.sleep(10)
        if number == BROKEN:
            self.reply(500, {"error": "internal error"})
            return None
        return ORDERS.get(number)

    def do_GET(self):
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        if len(parts) == 2 and parts[0] == "orders":
            token = os.environ.get("DEMO_SHOP_TOKEN")
            if token and self.headers.get("Authorization") != "Bearer " + token:
                return self.reply(401, {"error": "unauthorized"})
            if parts[1] in (SLOW, BROKEN):
                order = self.lookup(parts[1])
                if order is None:
                    return
            order = ORDERS.get(parts[1])
            if order is None:
                return self.reply(404, {"error": "no such order"})
            return self.reply(200, {"order": dict(order, number=parts[1])})
        if len(parts) == 4 and parts[:2] == ["admin", "api"] and parts[3] == "orders.json":
            name = parse_qs(url.query).get("name", [""])[0].lstrip("#")
            if name in (SLOW, BROKEN):
                if self.lookup(name) is None:
                    return
            order = ORDERS.get(name)
            return self.reply(200, {"orders": [shopify(name, order)] if order else []})
        if len(parts) == 5 and parts[:4] == ["wp-json", "wc", "v3", "orders"]:
            if parts[4] in (SLOW, BROKEN):
                if self.lookup(parts[4]) is None:
                    return
            order = ORDERS.get(parts[4])
            if order is None:
                return self.reply(404, {"code": "woocommerce_rest_shop_order_invalid_id",
                                        "message": "Invalid ID.", "data": {"status": 404}})
            return self.reply(200, woocommerce(parts[4], order))
        self.reply(404, {"error": "not found"})


def watch(pid, server):
    """Stops the server once `pid` (scripts/demo's chat or serve) has ended."""
    while True:
        time.sleep(1)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            server.shutdown()
            return
        except PermissionError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8099)
    ap.add_argument("--parent-pid", type=int, help="exit when this process has ended")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.parent_pid:
        threading.Thread(target=watch, args=(args.parent_pid, server), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
