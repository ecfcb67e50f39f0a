"""Distributing a lead: the job run once per captured lead (docs/matching.md).

``distribute_lead`` reads and locks the lead, walks the campaigns covering its
sector from the best price down, judging each (matching.py) until the lead's
places are filled, and sells in rounds (selling.py): one round when every offer
sells, another for the places a cap or a paused campaign left open. The lead's
final state and its decision log are written with the last round.

On PostgreSQL a lead costs three round trips: the reads (pipelined), the round
of sales with the lead's own update, the commit. SQLite runs the same steps one
statement at a time.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from flask import current_app
from psycopg.errors import DeadlockDetected
from rq.timeouts import BaseTimeoutException
from sqlalchemy import bindparam, func, literal_column, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from marketplace import delivery, jobs, representations, snapshots
from marketplace.db_pool import driver_connection, on_postgresql
from marketplace.extensions import db
from marketplace.governance.organizations import publisher_hold
from marketplace.matching import (
    STATIC_REASONS,
    CampaignRule,
    buyers_who_bought_person,
    buyers_who_returned,
    campaign_exclusion,
    next_opening,
    offer_cents,
    partner_ids,
    ranking_for,
)
from marketplace.models import (
    ConsentRecord,
    Lead,
    LeadMagnet,
    LeadStatus,
    MagnetKind,
    Organization,
    SaleSource,
    Sector,
    SourceQuality,
    utcnow,
)
from marketplace.quality.sources import earning_share_bps
from marketplace.scoring import score_lead
from marketplace.selling import LeadSale, Offer, sale_label, sell_offers

log = logging.getLogger(__name__)

SOLD_VERDICTS = ("sold_exclusive", "sold")
SAME_BUYER = "same_buyer_ranked_higher"
NO_PLACE_LEFT = "no_place_left"
# Disqualified because no active campaign covers the lead's sector at all.
NO_CAMPAIGN = "no_campaign_for_sector"


@dataclass(frozen=True)
class LeadFacts:
    """What distribution needs beyond the lead's own row, read with it in one query."""

    parent_sector_id: int | None
    sector_slug: str
    kind: MagnetKind
    partner_list_id: int | None
    share_bps: int
    publisher_approved: bool
    publisher_suspended_at: datetime | None
    # What a lead of its sector sells for at least: the sector's floor or its parent's.
    sector_floor_cents: int
    parent_floor_cents: int
    # The lead's source (its magnet) as buyers judged it; None: not assessed yet.
    source_quality: int | None
    payout_multiplier_bps: int | None
    certificate_id: str | None  # of its consent record, for its buyers' webhooks

    @property
    def earning_share_bps(self) -> int:
        return earning_share_bps(self.share_bps, self.payout_multiplier_bps)


LEAD_COLUMNS = (
    "id",
    "status",
    "publisher_id",
    "magnet_id",
    "sector_id",
    "max_buyers",
    "sales_count",
    "sold_exclusively",
    "score",
    "email_hash",
    "phone_hash",
    "phone",
    "first_name",
    "last_name",
    "email",
    "siret",
    "company",
    "company_size",
    "budget",
    "timeframe",
    "housing",
    "postcode",
    "country",
    "message",
    "job_title",
    "earlier_visits",
    "recycled_from_id",
    "created_at",
    "distribute_after",
)


def _lock_lead_statement():
    leads = Lead.__table__
    parent = aliased(Sector)
    return (
        select(
            *(leads.c[name] for name in LEAD_COLUMNS),
            Sector.parent_id.label("parent_sector_id"),
            Sector.slug.label("sector_slug"),
            LeadMagnet.kind.label("kind"),
            ConsentRecord.partner_list_id.label("partner_list_id"),
            Organization.revenue_share_bps.label("share_bps"),
            Organization.approved.label("publisher_approved"),
            Organization.suspended_at.label("publisher_suspended_at"),
            Sector.floor_price_cents.label("sector_floor_cents"),
            func.coalesce(parent.floor_price_cents, literal_column("0")).label(
                "parent_floor_cents"
            ),
            SourceQuality.score.label("source_quality"),
            SourceQuality.payout_multiplier_bps.label("payout_multiplier_bps"),
            ConsentRecord.certificate_id.label("certificate_id"),
        )
        .join(Sector, Sector.id == leads.c.sector_id)
        .outerjoin(parent, parent.id == Sector.parent_id)
        .join(LeadMagnet, LeadMagnet.id == leads.c.magnet_id)
        .join(Organization, Organization.id == leads.c.publisher_id)
        .outerjoin(ConsentRecord, ConsentRecord.lead_id == leads.c.id)
        .outerjoin(SourceQuality, SourceQuality.magnet_id == leads.c.magnet_id)
        .where(leads.c.id == bindparam("lead_id"))
        .with_for_update(of=leads, key_share=True)
    )


# Built once: building a statement costs as much as running it.
_LOCK_LEAD = _lock_lead_statement()
_LOCK_LEAD_SQL = str(_LOCK_LEAD.compile(dialect=postgresql.psycopg.dialect()))
_LOCK_LEAD_NAMES = (*LEAD_COLUMNS, *LeadFacts.__dataclass_fields__)  # its columns, in order
# The person's advisory locks (lock_person's keys, computed by the database from the
# lead's hashes), taken in key order so that two jobs cannot deadlock.
_LOCK_PERSON_SQL = """
SELECT pg_advisory_xact_lock(keys.key) FROM (
    SELECT DISTINCT ('x' || substr(person.hash, 1, 15))::bit(60)::bigint AS key
    FROM leads, LATERAL (VALUES (leads.email_hash), (leads.phone_hash)) AS person (hash)
    WHERE leads.id = %(lead_id)s AND person.hash IS NOT NULL
    ORDER BY key
) AS keys
"""
# A recycled lead is not offered to the buyers that returned the lead it recycles.
_RETURNED_BY_SQL = """
SELECT DISTINCT sales.buyer_id FROM sales JOIN disputes ON disputes.sale_id = sales.id
WHERE sales.lead_id = (SELECT recycled_from_id FROM leads WHERE id = %(lead_id)s)
  AND disputes.status = 'accepted'
"""
# Run after the locks, as a statement of its own: it sees what a concurrent job on
# the same person committed while this one waited. The person's leads first, by their
# hashes' indexes, then each one's sales by ``lead_id`` (``OFFSET 0`` keeps that a
# look-up per lead): the plan PostgreSQL caches for this prepared statement was made
# on a small table, and a join it could choose then (every sale of the window hashed)
# grew with the sales, to 2.5 ms per lead after 6,000 leads (docs/benchmarks.md).
_PERSON_BUYERS_SQL = """
SELECT DISTINCT bought.buyer_id
FROM leads AS lead
CROSS JOIN LATERAL (
    SELECT others.id FROM leads AS others WHERE others.email_hash = lead.email_hash
    UNION
    SELECT others.id FROM leads AS others WHERE others.phone_hash = lead.phone_hash
) AS person
CROSS JOIN LATERAL (
    SELECT sales.buyer_id FROM sales
    WHERE sales.lead_id = person.id AND sales.created_at >= %(window_start)s
    OFFSET 0
) AS bought
WHERE lead.id = %(lead_id)s
"""


def open_lead(lead_id: int, now: datetime) -> tuple[SimpleNamespace, LeadFacts, set[int]] | None:
    """The lead's columns that distribution reads, its row locked ``FOR NO KEY
    UPDATE`` and its person's advisory locks held; its facts; the buyers that
    bought its person within the dedupe window. None: no such lead. The buyers that
    returned the lead it recycles, if any, are on ``lead.returned_by``."""
    window_start = now - timedelta(days=current_app.config["DEDUPE_WINDOW_DAYS"])
    if on_postgresql():
        connection = driver_connection()
        params = {"lead_id": lead_id, "window_start": window_start}
        with connection.pipeline():
            read = connection.execute(_LOCK_LEAD_SQL, params)
            connection.execute(_LOCK_PERSON_SQL, params)
            buyers = connection.execute(_PERSON_BUYERS_SQL, params)
            returners = connection.execute(_RETURNED_BY_SQL, params)
        row = read.fetchone()
        if row is None:
            return None
        values = dict(zip(_LOCK_LEAD_NAMES, row, strict=True))
        values["status"] = LeadStatus(values["status"])
        values["kind"] = MagnetKind(values["kind"])
        person_buyers = {buyer_id for (buyer_id,) in buyers.fetchall()}
        values["returned_by"] = frozenset(buyer_id for (buyer_id,) in returners.fetchall())
    else:
        found = db.session.execute(_LOCK_LEAD, {"lead_id": lead_id}).first()
        if found is None:
            return None
        values = found._asdict()
        person_buyers = None
    facts = LeadFacts(*(values.pop(name) for name in LeadFacts.__dataclass_fields__))
    lead = SimpleNamespace(**values, source_quality=facts.source_quality)
    if person_buyers is None:
        person_buyers = buyers_who_bought_person(lead, now)
        lead.returned_by = buyers_who_returned(lead.recycled_from_id)
    return lead, facts, person_buyers


def distribute_lead(lead_id: int, now: datetime | None = None) -> list[int]:
    """Score a pending lead and sell it to the best eligible campaigns. Idempotent.

    Returns the ids of the sales made by this call (none when the lead was not
    pending: a retried job changes nothing). A distribution that PostgreSQL chose as
    a deadlock's victim (two workers' rounds taking the same campaigns' usage rows in
    opposite orders, across rounds) was rolled back whole, and runs again at once.
    """
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            return _distribute(lead_id, now or utcnow())
        except Exception as error:
            db.session.rollback()
            if attempt == DEADLOCK_ATTEMPTS or not _deadlocked(error):
                raise
            log.info("lead %s: deadlock victim, distributing it again", lead_id)
    raise AssertionError("unreachable")


DEADLOCK_ATTEMPTS = 3
# Leads one woken run distributes at most before it wakes another (and lets the
# worker's other jobs in between).
PENDING_RUN_LIMIT = 500


def _claim_statement(skipped: set[int]):
    """The oldest fresh pending lead no other worker holds, locked for this transaction.
    Leads waiting for opening hours are the sweep's (in its order, best source first)."""
    query = (
        select(Lead.id)
        .where(Lead.status == LeadStatus.PENDING, Lead.distribute_after.is_(None))
        .order_by(Lead.created_at, Lead.id)
        .limit(1)
        .with_for_update(key_share=True, skip_locked=True)
    )
    if skipped:
        query = query.where(Lead.id.notin_(skipped))
    return query


_CLAIM = _claim_statement(set())  # built once: the statement of nearly every claim
# PostgreSQL's claim goes to the driver as text: through the session, the ORM's work
# for this one-column read cost a worker a seventh of its CPU (py-spy, 30 leads/s).
_CLAIM_SQL = str(
    _CLAIM.compile(dialect=postgresql.psycopg.dialect(), compile_kwargs={"literal_binds": True})
)


def _claim(skipped: set[int]) -> int | None:
    if skipped or not on_postgresql():
        return db.session.scalar(_claim_statement(skipped) if skipped else _CLAIM)
    row = driver_connection().execute(_CLAIM_SQL).fetchone()
    return None if row is None else row[0]


def _back_off(lead_id: int) -> None:
    """A lead whose distribution failed waits a minute, then is the sweep's: the next
    runs do not stumble on it first."""
    db.session.execute(
        update(Lead)
        .where(Lead.id == lead_id, Lead.status == LeadStatus.PENDING)
        .values(distribute_after=utcnow() + timedelta(seconds=FAILED_LEAD_PAUSE_SECONDS))
    )
    db.session.commit()


FAILED_LEAD_PAUSE_SECONDS = 60


def distribute_pending(limit: int = PENDING_RUN_LIMIT) -> int:
    """The run capture wakes (coalesced): every fresh pending lead, oldest first, each
    claimed ``FOR NO KEY UPDATE SKIP LOCKED`` and distributed in its own transaction, so
    that several workers, on several machines, share the leads through PostgreSQL
    alone and a failure stays one lead's (it waits for the sweep). Out of leads, a
    worker's run waits a moment for the next capture's wake-up (``jobs.await_nudge``)
    before it ends, for ``DISTRIBUTION_RUN_SECONDS`` at most. Returns how many leads it
    took."""
    jobs.woken(distribute_pending)
    ends_at = time.monotonic() + current_app.config["DISTRIBUTION_RUN_SECONDS"]
    skipped: set[int] = set()
    taken = 0
    while taken < limit and time.monotonic() < ends_at:
        lead_id = _claim(skipped)
        if lead_id is None:
            # A read ends with COMMIT, not ROLLBACK: psycopg forgets its connection's
            # prepared statements at every rollback, and PostgreSQL then planned the
            # next leads' statements again (docs/benchmarks.md, "Planning").
            db.session.commit()
            if jobs.await_nudge(distribute_pending, until=ends_at):
                continue
            return taken
        taken += 1
        try:
            distribute_lead(lead_id)  # in the claim's transaction: the row stays ours
        except BaseTimeoutException:
            db.session.rollback()
            raise  # the job's time is up: RQ records it, the lead stays pending
        except Exception:
            db.session.rollback()
            skipped.add(lead_id)
            log.exception("lead %s: distribution failed, the sweep will try it again", lead_id)
            _back_off(lead_id)
    try:  # more may be waiting: another run, after the queue's other jobs
        jobs.wake(distribute_pending)
    except jobs.EnqueueFailed:
        log.warning("pending leads left for the sweep: the queue is unreachable")
    return taken


def _deadlocked(error: Exception) -> bool:
    return isinstance(error, DeadlockDetected) or isinstance(
        getattr(error, "orig", None), DeadlockDetected
    )


def _distribute(lead_id: int, now: datetime) -> list[int]:
    opened = open_lead(lead_id, now)
    if opened is None or opened[0].status is not LeadStatus.PENDING:
        db.session.rollback()
        return []
    lead, facts, person_buyers = opened
    if lead.distribute_after is not None and lead.distribute_after > now:
        db.session.rollback()  # waiting for a campaign's opening hours
        return []
    scored = {}
    if lead.score is None:
        score = score_lead(lead, facts.kind)
        lead.score = score.value
        scored = {
            "score": score.value,
            "temperature": score.temperature,
            "score_explanation": score.explanation,
        }
    held_for = publisher_hold(facts.publisher_approved, facts.publisher_suspended_at)
    if held_for is not None:
        _hold(lead, held_for, now, scored)
        db.session.commit()
        log.info("lead %s kept unsold: %s", lead_id, held_for)
        return []
    allowed = partner_ids(facts.partner_list_id) if facts.partner_list_id else frozenset()
    walk = _Walk(lead, facts, allowed, person_buyers, now)
    seller = _Seller(lead, facts, walk, now, scored)
    sold, first_offers = seller.sell_exclusive() if lead.sales_count == 0 else ([], [])
    if not sold:
        sold = seller.sell_shared(first_offers)
    if not seller.lead_written:
        _write_lead(lead, walk, now, scored)
    # The rounds wrote the sales' deliveries with them (an outbox): nothing sold goes
    # untold. The webhooks' bodies are made after the commit.
    db.session.commit()
    log.info("lead %s distributed: %d sale(s)", lead_id, len(sold))
    for one in sold:
        _SERVED[one.campaign.id] = now
    if seller.deliveries:
        sold_by_id = {one.sale_id: one for one in sold}
        ready = delivery.new_purchase_webhooks(
            seller.deliveries,
            lambda sale_id: _purchase(lead, facts, sold_by_id[sale_id], now),
            now,
        )
        delivery.start_sending([one.id for one in seller.deliveries], ready)
    return [one.sale_id for one in sold]


@dataclass(frozen=True)
class _Sold:
    sale_id: int
    campaign: CampaignRule
    price_cents: int
    exclusive: bool


def _purchase(lead, facts: LeadFacts, sold: _Sold, now: datetime) -> dict:
    """The sale as its buyer's webhook shows it, from what this distribution holds."""
    return representations.new_purchase(
        id=sold.sale_id,
        lead_id=lead.id,
        created_at=now,
        source=SaleSource.CAMPAIGN,
        campaign_id=sold.campaign.id,
        exclusive=sold.exclusive,
        price_cents=sold.price_cents,
        currency=sold.campaign.currency,
        sector=facts.sector_slug,
        magnet_kind=facts.kind,
        certificate_id=facts.certificate_id,
        **{name: getattr(lead, name) for name in representations.PURCHASE_LEAD_FIELDS},
    )


# campaign id -> when this process last sold it a lead: the fairness order between
# campaigns of equal price, fresher than the rules' copy (refreshed every minute).
_SERVED: dict[int, datetime] = snapshots.register_store({})
_NEVER = datetime.min.replace(tzinfo=UTC)


def _served_at(campaign: CampaignRule) -> datetime:
    here = _SERVED.get(campaign.id)
    there = campaign.last_sold_at or _NEVER
    return there if here is None or here < there else here


def _fairness(campaign: CampaignRule) -> tuple:
    return (_served_at(campaign), campaign.id)


class _Walk:
    """The candidate campaigns judged in rank order, only as far as needed.

    A lead's sector has hundreds of campaigns and its places go to the first few
    eligible ones: the rest are counted, not judged ("not reached" in the log).
    """

    def __init__(self, lead, facts: LeadFacts, allowed, person_buyers, now: datetime):
        self.lead, self.now = lead, now
        self.floor_cents = max(facts.sector_floor_cents, facts.parent_floor_cents)
        self.context = (facts.kind.value, allowed, person_buyers)
        self.ranking = ranking_for(lead.sector_id, facts.parent_sector_id)
        self.verdicts: dict[int, str] = {}
        self.campaigns: dict[int, CampaignRule] = {}
        self.exhausted = False
        self._order = self._in_rank_order()
        self._buyers_taken: set[int] = set()

    def _in_rank_order(self) -> Iterator[CampaignRule]:
        for group in self.ranking.by_price:
            yield from (group if len(group) == 1 else sorted(group, key=_fairness))

    def exclusion(self, campaign: CampaignRule) -> str | None:
        if campaign.id not in self.verdicts:
            kind, allowed, person_buyers = self.context
            reason = campaign_exclusion(
                campaign,
                self.lead,
                self.now,
                kind=kind,
                allowed=allowed,
                buyers=person_buyers,
                returned_by=self.lead.returned_by,
                floor_cents=self.floor_cents,
            )
            self.verdicts[campaign.id] = reason or "eligible"
            self.campaigns[campaign.id] = campaign
        verdict = self.verdicts[campaign.id]
        return None if verdict == "eligible" else verdict

    def next_eligible(self, count: int) -> list[CampaignRule]:
        """The next ``count`` eligible campaigns, one per buyer not yet holding a place."""
        picked: list[CampaignRule] = []
        while len(picked) < count:
            campaign = next(self._order, None)
            if campaign is None:
                self.exhausted = True
                break
            if self.exclusion(campaign) is not None:
                continue
            if campaign.buyer_id in self._buyers_taken:
                self.verdicts[campaign.id] = SAME_BUYER
                continue
            self._buyers_taken.add(campaign.buyer_id)
            picked.append(campaign)
        return picked

    def first_offers(self, places: int) -> tuple[CampaignRule | None, list[CampaignRule]]:
        """What a lead not yet sold is offered first (docs/matching.md, "The choice"): the
        campaign that gets it alone, if any, and the shared offers (those to make when
        there is none, or when its sale is refused). Alone: the best single offer when its
        person agreed to one partner only, else the best exclusive price above the
        shared sales it would replace."""
        shared = self.next_eligible(places)
        if places == 1:
            offers = [*shared, self.best_exclusive(0)]
            best = min(
                (c for c in offers if c is not None),
                key=lambda c: (-offer_cents(c), *_fairness(c)),
                default=None,
            )
        else:
            best = self.best_exclusive(sum(campaign.price_cents for campaign in shared))
        return best, shared

    def best_exclusive(self, above_cents: int) -> CampaignRule | None:
        """The eligible campaign offering most for the lead alone, above ``above_cents``."""
        offers = [c for c in self.ranking.exclusive if offer_cents(c) > above_cents]
        offers.sort(key=lambda c: (-offer_cents(c), *_fairness(c)))
        return next((c for c in offers if self.exclusion(c) is None), None)

    def release(self, campaign: CampaignRule) -> None:
        """A refused campaign's buyer may take a place through its next campaign."""
        self._buyers_taken.discard(campaign.buyer_id)

    def hold(self, campaigns: list[CampaignRule]) -> None:
        self._buyers_taken.update(campaign.buyer_id for campaign in campaigns)

    def disqualification(self) -> str | None:
        """Why no campaign at all could take the lead, when every campaign of its sector
        was judged and each excluded it for a reason of the lead itself (never a cap, a
        budget, the hour, a buyer's standing or a buyer that already has the person):
        the reason most of them gave, the best-ranked first among equals. None when some
        campaign could take it, or might later."""
        if self.ranking.count == 0:
            return NO_CAMPAIGN
        if not self.exhausted or not self.verdicts:
            return None
        reasons = list(self.verdicts.values())
        if any(reason not in STATIC_REASONS for reason in reasons):
            return None
        return max(reasons, key=lambda reason: (reasons.count(reason), -reasons.index(reason)))

    def not_reached(self) -> int:
        return 0 if self.exhausted else self.ranking.count - len(self.verdicts)

    def log(self, pending: dict[int, str] | None = None) -> dict:
        """The decision log, with ``pending`` verdicts in place of the recorded ones."""
        by_verdict: dict[str, list[int]] = {}
        for campaign_id, verdict in self.verdicts.items():
            verdict = (pending or {}).get(campaign_id, verdict)
            if verdict == "eligible":  # judged, never offered: the places went first
                verdict = NO_PLACE_LEFT
            by_verdict.setdefault(verdict, []).append(campaign_id)
        entry = {"at": self.now.isoformat(), "verdicts": by_verdict}
        if self.not_reached():
            entry["not_reached"] = self.not_reached()
        return entry


def planned_offers(
    lead, facts, allowed: frozenset[int], now: datetime
) -> tuple[CampaignRule | None, list[CampaignRule]]:
    """What distribution would offer a lead not yet sold if it ran now: the campaign
    that would get it alone, if any, and the shared offers; judged as ``_distribute``
    judges, from the rules' copy, selling nothing (the ping: estimates.py). ``facts``:
    anything with what the walk reads of LeadFacts (the magnet's kind, the sector's
    parent and floors). A lead not yet captured has no person to dedupe against."""
    return _Walk(lead, facts, allowed, set(), now).first_offers(lead.max_buyers)


class _Seller:
    """The lead's rounds of sales, and whether the last one wrote the lead."""

    def __init__(self, lead, facts: LeadFacts, walk: _Walk, now: datetime, scored: dict):
        self.lead, self.facts, self.walk, self.now = lead, facts, walk, now
        self.scored = scored
        self.lead_written = False
        self.label = sale_label(lead.id, facts.sector_slug, now)
        self.deliveries: list[delivery.CreatedDelivery] = []  # the rounds' sales

    def sell_exclusive(self) -> tuple[list, list]:
        """The lead alone to the best offer, when it beats the shared sales it would
        replace, or when its person agreed to one partner only: (the sale, or none
        and the shared offers to make first)."""
        lead, walk = self.lead, self.walk
        best, shared = walk.first_offers(lead.max_buyers)
        if best is None:
            return [], shared
        sold = self._round([best], exclusive=True)
        if sold:
            return sold, []
        rest = [campaign for campaign in shared if campaign is not best]
        walk.hold(rest)  # the refused campaign's buyer may have one of them
        return [], rest

    def sell_shared(self, offers: list) -> list:
        """Shared sales down the ranking until the places are filled."""
        sold = []
        while (places := self.lead.max_buyers - self.lead.sales_count) > 0:
            offers = offers[:places]
            offers += self.walk.next_eligible(places - len(offers))
            if not offers:
                break
            sold += self._round(offers, exclusive=False)
            offers = []
        return sold

    def _round(self, campaigns: list, *, exclusive: bool) -> list:
        verdict = "sold_exclusive" if exclusive else "sold"
        pending = {campaign.id: verdict for campaign in campaigns}
        final = self._final_changes(self.walk.log(pending))
        offers = [Offer(c, offer_cents(c) if exclusive else c.price_cents) for c in campaigns]
        results, written, deliveries = sell_offers(
            LeadSale(
                lead_id=self.lead.id,
                publisher_id=self.lead.publisher_id,
                share_bps=self.facts.earning_share_bps,
                label=self.label,
                exclusive=exclusive,
            ),
            offers,
            self.now,
            final,
        )
        self.deliveries += deliveries
        sold = []
        for offer, (sale_id, refusal) in zip(offers, results, strict=True):
            campaign = offer.campaign
            if sale_id is None:
                self.walk.verdicts[campaign.id] = refusal
                self.walk.release(campaign)
            else:
                self.walk.verdicts[campaign.id] = verdict
                sold.append(_Sold(sale_id, campaign, offer.price_cents, exclusive))
        self.lead.sales_count += len(sold)
        self.lead.sold_exclusively = exclusive and bool(sold)
        # What the statement wrote is the lead's final state only if every offer sold.
        self.lead_written = written and len(sold) == len(campaigns)
        return sold

    def _final_changes(self, decision_log: dict) -> dict:
        return {
            "log": json.dumps(decision_log),
            "score": self.scored.get("score"),
            "temperature": self.scored.get("temperature"),
            "score_explanation": (
                json.dumps(self.scored["score_explanation"]) if self.scored else None
            ),
        }


def _write_lead(lead, walk: _Walk, now: datetime, scored: dict) -> None:
    """The lead's final state when no round wrote it: sold, unsold, or waiting for a
    campaign's opening hours."""
    changes = dict(scored, distribution_log=walk.log())
    waiting_until = None if lead.sales_count else _opening_to_wait_for(lead, walk, now)
    if waiting_until is not None:
        changes["distribute_after"] = waiting_until
    else:
        changes.update(
            status=LeadStatus.DISTRIBUTED if lead.sales_count else LeadStatus.UNSOLD,
            distributed_at=now,
            distribute_after=None,
            disqualified_for=None if lead.sales_count else walk.disqualification(),
        )
    leads = Lead.__table__
    db.session.execute(update(leads).where(leads.c.id == lead.id).values(**changes))


def _hold(lead, held_for: str, now: datetime, scored: dict) -> None:
    """Kept, not sold: the publisher awaits approval or is suspended."""
    leads = Lead.__table__
    db.session.execute(
        update(leads)
        .where(leads.c.id == lead.id)
        .values(
            **scored,
            status=LeadStatus.UNSOLD,
            held_for=held_for,
            distributed_at=now,
            distribute_after=None,
            distribution_log={"at": now.isoformat(), "held": held_for, "verdicts": {}},
        )
    )


def _opening_to_wait_for(lead, walk: _Walk, now: datetime) -> datetime | None:
    """When the first campaign closed now opens, if the lead is still fresh then."""
    openings = [
        opening
        for campaign_id, verdict in walk.verdicts.items()
        if verdict == "closed_now"
        and (opening := next_opening(walk.campaigns[campaign_id], now)) is not None
    ]
    fresh_until = lead.created_at + timedelta(days=current_app.config["LEAD_FRESHNESS_DAYS"])
    if not openings or min(openings) > fresh_until:
        return None
    return min(openings)


def logged_verdicts(lead: Lead) -> list[tuple[str, list[int]]]:
    """The lead's decision log as (verdict, campaign ids), the sales first."""
    verdicts = (lead.distribution_log or {}).get("verdicts", {})
    order = {verdict: n for n, verdict in enumerate(SOLD_VERDICTS)}
    return sorted(verdicts.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
