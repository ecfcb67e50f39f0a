"""The platform's flags on a sold lead: what it learned after the sale that makes the
lead worthless to its buyer, each a rule in words (labels.DECIDING_RULE_LABELS)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from marketplace.extensions import db
from marketplace.models import (
    Dispute,
    DisputeStatus,
    Lead,
    LeadStatus,
    MailRefusal,
    Sale,
    SuppressionEntry,
)

# The most specific first: an erasure also puts the person on the suppression list.
FLAGS = ("erased_contact", "suppressed_person", "bounced_email", "duplicate_found_later")


def flag_of(sale: Sale) -> tuple[str, dict] | None:
    """The first flag the platform holds against this sale's lead, with the facts that
    raised it (for the audit trail); None when the platform knows nothing against it."""
    lead = db.session.get(Lead, sale.lead_id)
    hashes = [value for value in (lead.email_hash, lead.phone_hash) if value]
    if lead.status is LeadStatus.ERASED or lead.erased_at is not None:
        return "erased_contact", {}
    if db.session.scalar(select(exists().where(SuppressionEntry.email_hash.in_(hashes)))):
        return "suppressed_person", {}
    # A refusal of a mail sent after the capture (the guide's download link, a privacy
    # answer): an older one may predate a mailbox the person has since fixed.
    refusal = db.session.scalar(
        select(MailRefusal.smtp_code)
        .where(
            MailRefusal.address_hash == lead.email_hash,
            MailRefusal.refused_at >= lead.created_at,
        )
        .limit(1)
    )
    if refusal is not None:
        return "bounced_email", {"smtp_code": refusal}
    earlier = _earlier_sale_of_the_person(sale, lead)
    if earlier is not None:
        return "duplicate_found_later", {"earlier_sale_id": earlier}
    return None


def _earlier_sale_of_the_person(sale: Sale, lead: Lead) -> int | None:
    """The same person (e-mail or phone hash), in the same sector, already sold to the
    same buyer within the dedupe window before this sale, through another lead (another
    publisher's form, the catalogue): the buyer paid twice for one person. An earlier
    sale the buyer already got back (an accepted dispute) does not count."""
    window = timedelta(days=current_app.config["DEDUPE_WINDOW_DAYS"])
    earlier, earlier_lead = aliased(Sale), aliased(Lead)
    same_person = earlier_lead.email_hash == lead.email_hash
    if lead.phone_hash:
        same_person = or_(same_person, earlier_lead.phone_hash == lead.phone_hash)
    returned = exists().where(
        Dispute.sale_id == earlier.id, Dispute.status == DisputeStatus.ACCEPTED
    )
    return db.session.scalar(
        select(earlier.id)
        .join(earlier_lead, earlier_lead.id == earlier.lead_id)
        .where(
            earlier.buyer_id == sale.buyer_id,
            earlier.sector_id == sale.sector_id,
            earlier.lead_id != sale.lead_id,
            earlier.created_at >= sale.created_at - window,
            or_(
                earlier.created_at < sale.created_at,
                and_(earlier.created_at == sale.created_at, earlier.id < sale.id),
            ),
            same_person,
            ~returned,
        )
        .order_by(earlier.created_at)
        .limit(1)
    )
