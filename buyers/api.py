"""The buyer API: the catalogue, buying from it, and pulling purchases."""

from __future__ import annotations

from apiflask import APIBlueprint
from apiflask.exceptions import HTTPError
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from buyers import purchases
from buyers.api_schemas import (
    Catalog,
    CatalogQuery,
    DisputeIn,
    OutcomeIn,
    Purchase,
    Purchases,
    PurchasesQuery,
    RatingIn,
)
from marketplace import lead_catalogue, quality, returns
from marketplace.api import api_organization, token_auth
from marketplace.extensions import db
from marketplace.models import Sector, utcnow

blueprint = APIBlueprint("buyer_api", __name__, url_prefix="/api/v1", tag="Buyers")


@blueprint.get("/catalog")
@blueprint.auth_required(token_auth)
@blueprint.input(CatalogQuery, location="query", arg_name="query")
@blueprint.output(Catalog)
@blueprint.doc(summary="Leads on sale to you", description="Anonymised previews and your price.")
def catalog(query: CatalogQuery):
    buyer_id = api_organization("buyer")
    sector_id = None
    if query.sector:
        sector_id = db.session.scalar(select(Sector.id).where(Sector.slug == query.sector))
        if sector_id is None:
            raise HTTPError(
                422,
                message=str(_l("Some fields are not valid.")),
                detail={"sector": str(_l("No sector has this slug."))},
            )
    now = utcnow()
    offers = lead_catalogue.offers_for(
        buyer_id,
        now=now,
        sector_id=sector_id,
        department=query.department,
        company_size=query.company_size,
        magnet_kind=query.kind,
        min_score=query.min_score,
        sort=query.sort,
        limit=query.limit,
    )
    return {"items": [offer.as_json(now) for offer in offers]}


@blueprint.post("/catalog/<int:lead_id>/purchase")
@blueprint.auth_required(token_auth)
@blueprint.output(Purchase, status_code=201)
@blueprint.doc(
    summary="Buy a lead from the catalogue", responses={409: "Sold out, or not on sale to you"}
)
def purchase_from_catalog(lead_id: int):
    buyer_id = api_organization("buyer")
    try:
        sale = lead_catalogue.buy(buyer_id, lead_id)
    except lead_catalogue.NotForSale as refused:
        raise HTTPError(409, message=refused.message, extra_data={"code": "not_for_sale"}) from None
    return purchases.own_purchase(buyer_id, sale.id), 201


@blueprint.get("/purchases")
@blueprint.auth_required(token_auth)
@blueprint.input(PurchasesQuery, location="query", arg_name="query")
@blueprint.output(Purchases)
@blueprint.doc(
    summary="Your purchases, oldest first",
    description="Pull with `since`, then follow `next_cursor` until it is null.",
)
def list_purchases(query: PurchasesQuery):
    buyer_id = api_organization("buyer")
    items, next_cursor = purchases.purchases_page(
        buyer_id,
        since=query.since,
        after_id=int(query.cursor) if query.cursor else None,
        limit=query.limit,
    )
    return {
        "items": items,
        "next_cursor": str(next_cursor) if next_cursor else None,
    }


@blueprint.get("/purchases/<int:sale_id>")
@blueprint.auth_required(token_auth)
@blueprint.output(Purchase)
@blueprint.doc(summary="One of your purchases", responses={404: "Not your purchase"})
def get_purchase(sale_id: int):
    buyer_id = api_organization("buyer")
    return purchases.own_purchase(buyer_id, sale_id)


@blueprint.post("/purchases/<int:sale_id>/dispute")
@blueprint.auth_required(token_auth)
@blueprint.input(DisputeIn, arg_name="body")
@blueprint.output(Purchase, status_code=201)
@blueprint.doc(
    summary="Dispute one of your purchases",
    description=(
        "Within the return window. An accepted dispute credits the price. The platform's "
        "return rules may accept it at once (the answer's `dispute.status` is then "
        "`accepted` and `dispute.decided_by_rule` names the rule); otherwise it is `open` "
        "until an administrator decides."
    ),
    responses={404: "Not your purchase", 409: "Outside the return window, or already disputed"},
)
def dispute_purchase(sale_id: int, body: DisputeIn):
    buyer_id = api_organization("buyer")
    returns.open_dispute_and_decide(buyer_id, sale_id, body.reason, body.comment)
    return purchases.own_purchase(buyer_id, sale_id), 201


@blueprint.post("/purchases/<int:sale_id>/rating")
@blueprint.auth_required(token_auth)
@blueprint.input(RatingIn, arg_name="body")
@blueprint.output(Purchase)
@blueprint.doc(
    summary="Rate one of your purchases",
    description="1 to 5 stars, reasons from the list and a comment. Sending it again "
    "replaces the rating, for 30 days after the sale.",
    responses={404: "Not your purchase", 409: "More than 30 days after the sale"},
)
def rate_purchase(sale_id: int, body: RatingIn):
    buyer_id = api_organization("buyer")
    quality.rate_purchase(
        buyer_id, sale_id, stars=body.stars, reasons=body.reasons, comment=body.comment
    )
    return purchases.own_purchase(buyer_id, sale_id)


@blueprint.post("/purchases/<int:sale_id>/outcome")
@blueprint.auth_required(token_auth)
@blueprint.input(OutcomeIn, arg_name="body")
@blueprint.output(Purchase)
@blueprint.doc(
    summary="Record where the deal stands",
    description="new, contacted, meeting, won (with `amount_cents`, the deal's amount) or "
    "lost (with a `lost_reason`). Every change is kept with its time.",
    responses={404: "Not your purchase"},
)
def record_outcome(sale_id: int, body: OutcomeIn):
    buyer_id = api_organization("buyer")
    quality.record_outcome(
        buyer_id,
        sale_id,
        status=body.status,
        amount_cents=body.amount_cents,
        lost_reason=body.lost_reason,
        via="api",
    )
    return purchases.own_purchase(buyer_id, sale_id)
