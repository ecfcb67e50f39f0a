"""Rating a purchase and moving it along the buyer's pipeline.

The same use cases for the portal and the API: each takes the buyer's id (another
organization's purchase is a NotFound), checks its values against the closed lists
once, and commits one transaction. Who acted is kept: the user in the portal, or
none when the organization's API key did.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.errors import DomainError, NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.models import Outcome, OutcomeChange, Sale, utcnow
from marketplace.models.sales import LOST_REASONS, OUTCOME_STEPS, RATING_REASONS
from marketplace.quality.sources import refresh_after_verdict

MAX_COMMENT = 2000
# The amounts column is a PostgreSQL integer: deals up to 21 million euros.
MAX_AMOUNT_CENTS = 2**31 - 1
NOT_LISTED = _l("Choose a value from the list.")


class RatingClosed(DomainError):
    status = 409
    code = "rating_closed"
    default_message = _l("This lead can no longer be rated: ratings close 30 days after the sale.")


def rating_open_until(sale: Sale) -> datetime:
    return sale.created_at + timedelta(days=current_app.config["RATING_WINDOW_DAYS"])


def _own_sale(buyer_id: int, sale_id: int) -> Sale:
    sale = db.session.scalar(
        select(Sale).where(Sale.id == sale_id, Sale.buyer_id == buyer_id).with_for_update()
    )
    if sale is None:
        db.session.rollback()
        raise NotFound()
    return sale


def rate_purchase(
    buyer_id: int,
    sale_id: int,
    *,
    stars: int,
    reasons: list[str] | tuple[str, ...] = (),
    comment: str | None = None,
    keep_details: bool = False,
    user_id: int | None = None,
    now: datetime | None = None,
) -> Sale:
    """Rate one purchase 1 to 5 stars, with reasons and a comment; editable for
    ``RATING_WINDOW_DAYS`` after the sale, then closed (the quality of sources is
    computed from settled verdicts). ``keep_details``: only the stars change (a
    one-click rating from the inbox)."""
    now = now or utcnow()
    errors = {}
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        errors["stars"] = _l("Give 1 to 5 stars.")
    unknown = [reason for reason in reasons if reason not in RATING_REASONS]
    if unknown:
        errors["reasons"] = NOT_LISTED
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        errors["comment"] = _l("At most %(n)d characters.", n=MAX_COMMENT)
    if errors:
        raise ValidationFailed(fields=errors)
    sale = _own_sale(buyer_id, sale_id)
    if now > rating_open_until(sale):
        db.session.rollback()
        raise RatingClosed()
    sale.rating_stars = stars
    if not keep_details:
        # In the list's order, once each: a stable record whatever the caller sent.
        sale.rating_reasons = [reason for reason in RATING_REASONS if reason in set(reasons)]
        sale.rating_comment = comment
    sale.rated_at = now
    sale.rated_by_user_id = user_id
    db.session.commit()
    refresh_after_verdict(sale.id)
    return sale


def record_outcome(
    buyer_id: int,
    sale_id: int,
    *,
    status: str,
    amount_cents: int | None = None,
    lost_reason: str | None = None,
    user_id: int | None = None,
    via: str = "portal",
    now: datetime | None = None,
) -> Sale:
    """Move a purchase in the pipeline (new, contacted, meeting, won with the deal's
    amount, lost with a reason); every move is kept with who made it and when. The
    pipeline goes both ways: a lost deal may come back."""
    now = now or utcnow()
    errors = {}
    if status not in OUTCOME_STEPS:
        errors["status"] = NOT_LISTED
    if status == "won":
        if amount_cents is None:
            errors["amount_cents"] = _l("Give the amount of the deal.")
        elif (
            not isinstance(amount_cents, int)
            or isinstance(amount_cents, bool)
            or not 0 <= amount_cents <= MAX_AMOUNT_CENTS
        ):
            errors["amount_cents"] = _l("This amount is out of range.")
    else:
        amount_cents = None
    if status == "lost":
        if lost_reason not in LOST_REASONS:
            errors["lost_reason"] = NOT_LISTED if lost_reason else _l("Say why it was lost.")
    else:
        lost_reason = None
    if errors:
        raise ValidationFailed(fields=errors)
    sale = _own_sale(buyer_id, sale_id)
    outcome = None if status == "new" else Outcome(status)
    unchanged = (sale.outcome, sale.outcome_amount_cents, sale.outcome_lost_reason) == (
        outcome,
        amount_cents,
        lost_reason,
    )
    if not unchanged:
        sale.outcome = outcome
        sale.outcome_amount_cents = amount_cents
        sale.outcome_lost_reason = lost_reason
        sale.outcome_at = now
        db.session.add(
            OutcomeChange(
                sale_id=sale.id,
                status=status,
                amount_cents=amount_cents,
                lost_reason=lost_reason,
                changed_by_user_id=user_id,
                via=via,
                changed_at=now,
            )
        )
    db.session.commit()
    if not unchanged:
        refresh_after_verdict(sale.id)
    return sale
