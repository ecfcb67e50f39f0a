"""The Stripe server of the tests: localstripe, plus what it lacks, recording the
invoice requests the SDK sends.

    python tests/stripe_server.py PORT

localstripe 1.15.10 (field-notes.md, docs/billing.md) cannot make a one-off invoice
(``POST /v1/invoices`` without a subscription answers 404 "No upcoming invoices"),
refuses ``auto_advance``, ``collection_method`` and ``pending_invoice_items_behavior``,
has no ``POST /v1/invoices/{id}/finalize``, no Checkout and no Connect transfers. This
script fills those gaps with
localstripe's own Invoice (which sweeps the customer's pending items in, as Stripe
does) and records every invoice request (path, form fields, Idempotency-Key) at
``GET /_config/recorded`` so that the tests can check what the SDK sent. Everything
else is localstripe unchanged.
"""

from __future__ import annotations

import sys

from aiohttp import web
from localstripe import resources
from localstripe.errors import UserError

RECORDED: list[dict] = []
# Idempotency keys seen on invoice creation, with the invoice they made: Stripe
# replays the first answer to a repeated key, and so does this fake.
INVOICE_KEYS: dict[str, str] = {}
_IGNORED = ("auto_advance", "collection_method", "pending_invoice_items_behavior")


def create_invoice(customer=None, subscription=None, **data):
    for name in _IGNORED:
        data.pop(name, None)
    if subscription is not None:
        return resources.Invoice._get_next_invoice(
            customer=customer, subscription=subscription, **data
        )
    pending = [
        item
        for item in resources.InvoiceItem._api_list_all(None, customer=customer, limit=99)._list
        if item.invoice is None
    ]
    if not pending:
        raise UserError(400, "Nothing to invoice for customer")
    return resources.Invoice(customer=customer, **data)


def finalize_invoice(id, **_data):
    invoice = resources.Invoice._api_retrieve(id)
    if invoice.status != "draft":
        raise UserError(400, "This invoice is already finalized")
    invoice._finalize()
    return invoice


resources.Invoice._api_create = staticmethod(create_invoice)
resources.extra_apis.append(("POST", "/v1/invoices/{id}/finalize", finalize_invoice))

from localstripe.server import app, get_post_data  # noqa: E402 (after the patches)


@web.middleware
async def record(request, handler):
    if request.path.startswith("/v1/invoices") and request.method == "POST":
        key = request.headers.get("Idempotency-Key")
        RECORDED.append(
            {
                "path": request.path,
                "data": await get_post_data(request) or {},
                "idempotency_key": key,
            }
        )
        if request.path == "/v1/invoices" and key in INVOICE_KEYS:
            invoice = resources.Invoice._api_retrieve(INVOICE_KEYS[key])
            return web.json_response(invoice._export())
        response = await handler(request)
        if request.path == "/v1/invoices" and key and response.status == 200:
            import json

            INVOICE_KEYS[key] = json.loads(response.body)["id"]
        return response
    return await handler(request)


async def checkout_session(request):
    """Stripe Checkout is not in localstripe: a session with an address, recorded."""
    data = await get_post_data(request) or {}
    RECORDED.append({"path": request.path, "data": data, "idempotency_key": None})
    number = len(RECORDED)
    return web.json_response(
        {
            "id": f"cs_test_{number}",
            "object": "checkout.session",
            "mode": data.get("mode"),
            "customer": data.get("customer"),
            "url": f"https://checkout.stripe.test/c/pay/cs_test_{number}",
        }
    )


async def transfer(request):
    """Connect is not in localstripe: a transfer to an ``acct_`` destination, recorded;
    ``acct_refuses...`` stands for an account Stripe will not pay yet."""
    data = await get_post_data(request) or {}
    RECORDED.append(
        {
            "path": request.path,
            "data": data,
            "idempotency_key": request.headers.get("Idempotency-Key"),
        }
    )
    if str(data.get("destination", "")).startswith("acct_refuses"):
        return web.json_response(
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "This account cannot receive transfers yet.",
                }
            },
            status=400,
        )
    return web.json_response(
        {
            "id": f"tr_test_{len(RECORDED)}",
            "object": "transfer",
            "amount": int(data["amount"]),
            "currency": data["currency"],
            "destination": data["destination"],
        }
    )


async def recorded(_request):
    return web.json_response(RECORDED)


async def forget(_request):
    """A fresh start for the next test (with ``DELETE /_config/data``): the ids of a
    new test database start again at 1, and so would its idempotency keys."""
    RECORDED.clear()
    INVOICE_KEYS.clear()
    return web.json_response({})


app.middlewares.append(record)
app.router.add_get("/_config/recorded", recorded)
app.router.add_post("/v1/checkout/sessions", checkout_session)
app.router.add_post("/v1/transfers", transfer)
app.router.add_delete("/_config/recorded", forget)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
