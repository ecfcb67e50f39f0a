"""What a lead would get now, before it exists: the posting API's ping (docs/capture.md).

The lead is built in memory from the qualification a publisher sends, scored by the
capture's own rule, and walked through its sector's campaigns exactly as distribution
walks it (distribution.planned_offers): in rank order, judging only as far as its places
need, then the exclusive offers. The ping therefore costs what a distribution's judging
costs, not a verdict for every campaign of the sector (thousands), and answers what
distribution would sell the lead now: the exclusive sale, or the shared ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import bindparam, func, literal_column, select
from sqlalchemy.orm import aliased

from marketplace import snapshots
from marketplace.capture.rules import asked_fields
from marketplace.capture.store import count_earlier_visits
from marketplace.capture.targets import CaptureTarget
from marketplace.distribution import planned_offers
from marketplace.extensions import db
from marketplace.governance.organizations import publisher_hold
from marketplace.matching import offer_cents, partner_ids
from marketplace.models import LeadMagnet, MagnetKind, Organization, Sector, SourceQuality
from marketplace.quality.sources import earning_share_bps
from marketplace.scoring import score_lead


@dataclass(frozen=True)
class Estimate:
    """What distribution would sell the lead for now."""

    buyers: int
    revenue_cents: int  # what they would pay
    payout_cents: int  # the publisher's earnings from those sales
    exclusive: bool = False  # sold to one buyer alone (its exclusive price)


@dataclass(frozen=True)
class MagnetFacts:
    """What distribution reads with a lead beyond its own row (distribution.LeadFacts),
    here for the magnet the lead would come from. Kept per process for
    MARKETPLACE_SNAPSHOT_SECONDS, like the magnet and the key the ping reads: a ping
    without an e-mail then costs no query at all (a round trip was most of its time)."""

    kind: MagnetKind
    parent_sector_id: int | None
    sector_floor_cents: int
    parent_floor_cents: int
    publisher_approved: bool
    publisher_suspended_at: datetime | None
    share_bps: int
    source_quality: int | None  # None: not assessed yet
    payout_multiplier_bps: int | None


def _facts_statement():
    parent = aliased(Sector)
    return (
        select(
            LeadMagnet.kind,
            Sector.parent_id,
            Sector.floor_price_cents,
            func.coalesce(parent.floor_price_cents, literal_column("0")),
            Organization.approved,
            Organization.suspended_at,
            Organization.revenue_share_bps,
            SourceQuality.score,
            SourceQuality.payout_multiplier_bps,
        )
        .join(Sector, Sector.id == LeadMagnet.sector_id)
        .outerjoin(parent, parent.id == Sector.parent_id)
        .join(Organization, Organization.id == LeadMagnet.publisher_id)
        .outerjoin(SourceQuality, SourceQuality.magnet_id == LeadMagnet.id)
        .where(LeadMagnet.id == bindparam("magnet_id"))
    )


_FACTS = _facts_statement()  # built once: building a statement costs as much as running it

# The qualification a lead keeps when its magnet asks it (capture/rules.py).
ESTIMATE_FIELDS = (
    "company",
    "job_title",
    "company_size",
    "budget",
    "timeframe",
    "housing",
    "postcode",
    "message",
)


def estimate(
    target: CaptureTarget,
    qualification: dict,
    now: datetime,
    *,
    phone_given: bool = False,
    email_hash: str | None = None,
) -> Estimate:
    """What a lead with this qualification, captured now by ``target``'s magnet, would
    be sold for: its buyers, their prices, the publisher's earnings (its revenue share
    times its magnet's quality multiplier, per sale, as distribution books them).

    Scored by the capture's own rule (a phone counts as given without its number) from
    the fields the magnet asks (the capture keeps no other). Its partners are those a
    lead captured now would consent to (the capture's own list). With ``email_hash``
    the person's earlier visits are counted as the capture counts them; without it the
    person is a first visitor, which can only underestimate (more visits never score
    lower). The exclusions of one person and one buyer (a buyer that bought the person
    or returned their earlier lead) are not applied; caps and budgets are judged as
    distribution judges them before selling (those this process saw reached). A
    publisher whose leads are kept, not sold (awaiting approval, suspended), gets none
    (known within MARKETPLACE_SNAPSHOT_SECONDS, like the magnet's own changes).
    """
    facts = magnet_facts(target.id)
    if publisher_hold(facts.publisher_approved, facts.publisher_suspended_at) is not None:
        return Estimate(0, 0, 0)
    lead = _lead(target, facts, qualification, phone_given, email_hash, now)
    alone, shared = planned_offers(lead, facts, partner_ids(target.partner_list_id), now)
    prices = [offer_cents(alone)] if alone is not None else [c.price_cents for c in shared]
    share_bps = earning_share_bps(facts.share_bps, facts.payout_multiplier_bps)
    return Estimate(
        buyers=len(prices),
        revenue_cents=sum(prices),
        payout_cents=sum(price * share_bps // 10_000 for price in prices),
        exclusive=alone is not None,
    )


def magnet_facts(magnet_id: int) -> MagnetFacts:
    def load() -> MagnetFacts:
        row = db.session.execute(_FACTS, {"magnet_id": magnet_id}).one()
        return MagnetFacts(MagnetKind(row[0]), *row[1:])

    return snapshots.remembered("magnet_facts", magnet_id, load)


def _lead(
    target: CaptureTarget,
    facts: MagnetFacts,
    qualification: dict,
    phone_given: bool,
    email_hash: str | None,
    now: datetime,
) -> SimpleNamespace:
    """The lead as distribution reads it (distribution.open_lead), never stored."""
    asked = asked_fields(target)
    visits = 0
    if email_hash is not None:
        visits = count_earlier_visits(
            email_hash, now - timedelta(days=current_app.config["EARLIER_VISITS_DAYS"])
        )
    lead = SimpleNamespace(
        id=None,
        magnet_id=target.id,
        sector_id=target.sector_id,
        max_buyers=target.max_buyers,
        sales_count=0,
        country=(qualification.get("country") if "country" in asked else None) or "FR",
        email_hash=email_hash or "",
        phone_hash=None,
        phone="given" if phone_given else None,
        earlier_visits=visits,
        source_quality=facts.source_quality,
        returned_by=frozenset(),  # a new lead recycles none
        **{name: qualification.get(name) if name in asked else None for name in ESTIMATE_FIELDS},
    )
    lead.score = score_lead(lead, facts.kind).value
    return lead
