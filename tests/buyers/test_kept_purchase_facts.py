"""What the database keeps for the buyer portal (migrations 0027, 0032) always equals
what a direct computation over the sales, leads, deliveries and disputes gives,
whichever way they were written: each sale's deliveries delivered and failed (its
pending ones the inbox's filter reads from the deliveries) and its lead's score and
temperature, the purchases per UTC week, campaign and sector, each purchase's searched
words; and the dashboard read from them equals the dashboard added up from the sales,
in any timezone."""

from __future__ import annotations

import bisect
import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, literal_column, select

from buyers import dashboard as dashboards
from buyers import inbox
from marketplace import delivery, disputes, lead_catalogue, quality
from marketplace.extensions import db
from marketplace.models import (
    Campaign,
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    Dispute,
    DisputeStatus,
    Lead,
    Outcome,
    PurchaseSearch,
    PurchaseWeek,
    Sale,
)
from marketplace.privacy.erasure import blank_leads
from tests import factories
from tests.buyers.test_catalogue import partner_buyer_after, unsold_lead
from tests.buyers.test_delivery import Receiver, make_due

FIGURES = (
    "purchases",
    "spend_cents",
    "contacted",
    "won",
    "revenue_cents",
    "disputes",
    "credits_cents",
)


def _figures_of(sale: Sale, dispute: Dispute | None) -> tuple[int, ...]:
    """One purchase's figures, as the dashboard's rule (buyers/dashboard._sums) says."""
    won = sale.outcome is Outcome.WON
    return (
        1,
        sale.price_cents,
        int(sale.outcome is not None),
        int(won),
        (sale.outcome_amount_cents or 0) if won else 0,
        int(dispute is not None),
        sale.price_cents if dispute is not None and dispute.status is DisputeStatus.ACCEPTED else 0,
    )


def _disputes() -> dict[int, Dispute]:
    return {dispute.sale_id: dispute for dispute in db.session.scalars(select(Dispute))}


def direct_weeks() -> dict[tuple, tuple[int, ...]]:
    """Every buyer's purchases added up per UTC week, campaign (0: none) and sector."""
    days: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(FIGURES))
    of_sale = _disputes()
    for sale in db.session.scalars(select(Sale)):
        day = sale.created_at.astimezone(UTC).date()
        key = (
            sale.buyer_id,
            day - timedelta(days=day.weekday()),
            sale.campaign_id or 0,
            sale.sector_id,
        )
        for n, value in enumerate(_figures_of(sale, of_sale.get(sale.id))):
            days[key][n] += value
    return {key: tuple(values) for key, values in days.items()}


def kept_weeks() -> dict[tuple, tuple[int, ...]]:
    """purchase_weeks without its rows emptied by a sale moved elsewhere."""
    return {
        (row.buyer_id, row.week, row.campaign_id, row.sector_id): tuple(
            getattr(row, name) for name in FIGURES
        )
        for row in db.session.scalars(select(PurchaseWeek))
        if any(getattr(row, name) for name in FIGURES)
    }


def searched_text():
    """The searched text of a lead row, as migration 0014 defined it (computed here)."""
    empty, space = literal_column("''"), literal_column("' '")
    columns = (Lead.first_name, Lead.last_name, Lead.company, Lead.email, Lead.phone)
    text = func.coalesce(columns[0], empty)
    for column in columns[1:]:
        text = text.op("||")(space).op("||")(func.coalesce(column, empty))
    return func.lower(text)


def assert_kept_facts_are_true() -> None:
    db.session.expire_all()
    assert kept_weeks() == direct_weeks()
    states: dict[int, dict[DeliveryStatus, int]] = defaultdict(lambda: defaultdict(int))
    for sale_id, status in db.session.execute(select(Delivery.sale_id, Delivery.status)):
        states[sale_id][status] += 1
    for sale, lead in db.session.execute(select(Sale, Lead).join(Lead, Lead.id == Sale.lead_id)):
        counted = states[sale.id]
        assert (sale.deliveries_delivered, sale.deliveries_failed) == (
            counted[DeliveryStatus.DELIVERED],
            counted[DeliveryStatus.FAILED],
        ), sale.id
        assert (sale.lead_score, sale.temperature) == (lead.score, lead.temperature), sale.id
    # The inbox's "pending" filter, read from the deliveries: the sales with one pending.
    with_one_pending: dict[int, int] = defaultdict(int)  # per buyer
    for sale_id, buyer_id in db.session.execute(select(Sale.id, Sale.buyer_id)):
        with_one_pending[buyer_id] += bool(states[sale_id][DeliveryStatus.PENDING])
    for buyer_id, expected in with_one_pending.items():
        assert inbox.count(buyer_id, inbox.InboxFilters(delivery="pending")) == expected
    direct = dict(
        db.session.execute(
            select(Sale.id, searched_text()).join(Lead, Lead.id == Sale.lead_id)
        ).all()
    )
    kept = dict(
        db.session.execute(select(PurchaseSearch.sale_id, PurchaseSearch.search_text)).all()
    )
    assert kept == direct
    assert set(
        db.session.execute(
            select(PurchaseSearch.sale_id, PurchaseSearch.buyer_id, PurchaseSearch.created_at)
        ).all()
    ) == set(db.session.execute(select(Sale.id, Sale.buyer_id, Sale.created_at)).all())


def sale_of(buyer, captured) -> Sale:
    return db.session.scalar(
        select(Sale).where(Sale.buyer_id == buyer.id, Sale.lead_id == captured.lead_id)
    )


def _fail_for_good(delivery_id: int) -> None:
    while db.session.get(Delivery, delivery_id).status is DeliveryStatus.PENDING:
        make_due(delivery_id)
        delivery.send_delivery(delivery_id)
        db.session.expire_all()


@pytest.fixture
def receiver_ok():
    receiver = Receiver(failures=0)
    yield receiver
    receiver.server.shutdown()


def test_kept_facts_equal_a_direct_computation_after_every_kind_of_change(
    app, receiver_ok, run_jobs
):
    # A catalogue purchase (its own statement on PostgreSQL).
    captured = unsold_lead(email="late@firm.fr")
    latecomer = partner_buyer_after(captured)
    lead_catalogue.buy(latecomer.id, captured.lead_id)
    assert_kept_facts_are_true()
    # Campaign sales, each lead to both buyers in one round: the first buyer's webhook
    # answers and its e-mail waits (no SMTP), the second's webhook is unreachable.
    first, second = factories.BuyerFactory(), factories.BuyerFactory()
    factories.campaign(
        first, price_cents=5000, webhook_url=receiver_ok.url, email_recipients=["a@first.fr"]
    )
    factories.campaign(second, price_cents=4200, webhook_url="http://127.0.0.1:9/down")
    leads = [factories.lead(email=f"person{n}@firm.fr") for n in range(3)]
    run_jobs()
    assert_kept_facts_are_true()
    first_sales = [sale_of(first, captured) for captured in leads]
    second_sales = [sale_of(second, captured) for captured in leads]
    assert first_sales[0].deliveries_delivered == 1 and first_sales[0].deliveries_failed == 0
    # A delivery that fails for good.
    hook = db.session.scalar(select(Delivery).where(Delivery.sale_id == second_sales[0].id))
    _fail_for_good(hook.id)
    assert db.session.get(Sale, second_sales[0].id).deliveries_failed == 1
    assert_kept_facts_are_true()
    # Ratings, and deals along the pipeline (a won deal lost again, with its amount).
    quality.rate_purchase(first.id, first_sales[0].id, stars=4, reasons=["reachable"])
    quality.record_outcome(first.id, first_sales[0].id, status="won", amount_cents=250_000)
    quality.record_outcome(first.id, first_sales[1].id, status="contacted")
    quality.record_outcome(second.id, second_sales[1].id, status="won", amount_cents=90_000)
    quality.record_outcome(second.id, second_sales[1].id, status="lost", lost_reason="timing")
    assert_kept_facts_are_true()
    # Disputes: one accepted (a credit, and a webhook event of the credit), one rejected,
    # one left open.
    admin = factories.admin_user()
    accepted = disputes.open_dispute(first.id, first_sales[2].id, "invalid_contact", "Bounces.")
    disputes.resolve_dispute(accepted.id, admin_user_id=admin.id, accept=True)
    rejected = disputes.open_dispute(second.id, second_sales[2].id, "fake", "Fake.")
    disputes.resolve_dispute(rejected.id, admin_user_id=admin.id, accept=False)
    disputes.open_dispute(second.id, second_sales[1].id, "duplicate", "Seen.")
    run_jobs()
    assert db.session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.event == delivery.PURCHASE_CREDITED)
    )
    assert_kept_facts_are_true()
    # The lead rectified and scored again, another erased: the copies follow.
    lead = db.session.get(Lead, leads[1].lead_id)
    lead.last_name, lead.company, lead.score = "Rectified", "New Name SA", 12
    db.session.commit()
    blank_leads([leads[2].lead_id])
    db.session.commit()
    assert_kept_facts_are_true()
    # A sale moved to another week, a campaign's sales to none (its row deleted).
    moved = db.session.get(Sale, first_sales[0].id)
    moved.created_at -= timedelta(days=40)
    db.session.commit()
    db.session.execute(
        Sale.__table__.update().where(Sale.buyer_id == second.id).values(campaign_id=None)
    )
    db.session.commit()
    assert_kept_facts_are_true()
    # The inbox's filters read the kept facts: the same purchases as from the sources.
    assert inbox.count(first.id, inbox.InboxFilters(delivery="delivered")) == 3
    assert inbox.count(first.id, inbox.InboxFilters(delivery="pending")) == 3
    assert inbox.count(second.id, inbox.InboxFilters(delivery="failed")) == 1
    assert inbox.count(second.id, inbox.InboxFilters(delivery="pending")) == 2
    assert inbox.count(first.id, inbox.InboxFilters(q="rectified")) == 1
    assert inbox.count(first.id, inbox.InboxFilters(q="person2@")) == 0  # erased
    assert inbox.count(first.id, inbox.InboxFilters(q="person0@firm")) == 1
    assert inbox.count(first.id, inbox.InboxFilters(score_max=12)) == 1


def test_a_rolled_back_change_leaves_nothing_kept_behind(app):
    buyer = factories.BuyerFactory()
    factories.campaign(buyer)
    captured = factories.lead(email="undone@firm.fr")
    before = kept_weeks()
    sale = sale_of(buyer, captured)
    sale.outcome, sale.outcome_amount_cents = Outcome.WON, 1000
    db.session.add(
        Delivery(
            sale_id=sale.id,
            channel=DeliveryChannel.WEBHOOK,
            event="purchase.created",
            target="http://127.0.0.1:9/",
        )
    )
    db.session.flush()
    assert kept_weeks() != before
    db.session.rollback()
    assert kept_weeks() == before
    assert_kept_facts_are_true()


def test_a_delivery_counts_on_its_sale_once_delivered_or_failed_in_whatever_way_written(app):
    buyer = factories.BuyerFactory()
    factories.campaign(buyer)
    sale = sale_of(buyer, factories.lead(email="written@firm.fr"))
    version = _row_version(sale.id)

    def add(channel, status):
        db.session.add(
            Delivery(
                sale_id=sale.id,
                channel=channel,
                event="purchase.created",
                status=status,
                target="http://127.0.0.1:9/",
            )
        )
        db.session.commit()

    add(DeliveryChannel.WEBHOOK, DeliveryStatus.PENDING)
    # A new pending delivery is not written on its sale: the sale's row is the same one.
    assert _row_version(sale.id) == version
    assert inbox.count(buyer.id, inbox.InboxFilters(delivery="pending")) == 1
    add(DeliveryChannel.EMAIL, DeliveryStatus.DELIVERED)
    assert_kept_facts_are_true()
    hook = db.session.scalar(
        select(Delivery).where(
            Delivery.sale_id == sale.id, Delivery.channel == DeliveryChannel.WEBHOOK
        )
    )
    for status in (DeliveryStatus.FAILED, DeliveryStatus.PENDING, DeliveryStatus.DELIVERED):
        hook.status = status
        db.session.commit()
        assert_kept_facts_are_true()
    assert inbox.count(buyer.id, inbox.InboxFilters(delivery="pending")) == 0
    assert inbox.count(buyer.id, inbox.InboxFilters(delivery="delivered")) == 1
    assert db.session.get(Sale, sale.id).deliveries_delivered == 2


def _row_version(sale_id: int):
    """The sale's row version (PostgreSQL's xmin), or None where there is none."""
    if db.engine.dialect.name != "postgresql":
        return None
    return db.session.scalar(
        select(literal_column("xmin::text")).select_from(Sale).where(Sale.id == sale_id)
    )


def direct_dashboard(buyer_id: int, weeks: int, now: datetime, zone: ZoneInfo):
    """The dashboard added up from the sales, in Python: per local week, campaign, sector."""
    local_today = now.astimezone(zone).date()
    monday = local_today - timedelta(days=local_today.weekday())
    mondays = [monday - timedelta(weeks=weeks - 1 - n) for n in range(weeks)]
    starts = [datetime.combine(day, time.min, tzinfo=zone) for day in mondays]
    end = starts[-1] + timedelta(weeks=1)
    by_week = [[0] * len(FIGURES) for _ in mondays]
    by_campaign: dict = defaultdict(lambda: [0] * len(FIGURES))
    by_sector: dict = defaultdict(lambda: [0] * len(FIGURES))
    of_sale = _disputes()
    for sale in db.session.scalars(select(Sale).where(Sale.buyer_id == buyer_id)):
        if not starts[0] <= sale.created_at < end:
            continue
        week = bisect.bisect_right(starts, sale.created_at) - 1
        for n, value in enumerate(_figures_of(sale, of_sale.get(sale.id))):
            by_week[week][n] += value
            by_campaign[sale.campaign_id][n] += value
            by_sector[sale.sector_id][n] += value
    return by_week, dict(by_campaign), dict(by_sector)


def as_tuple(figures: dashboards.Figures) -> tuple[int, ...]:
    return (
        figures.leads,
        figures.spend_cents,
        figures.contacted,
        figures.won,
        figures.revenue_cents,
        figures.disputes,
        figures.credits_cents,
    )


@pytest.mark.parametrize(
    "zone", ["Europe/Paris", "America/New_York", "Asia/Tokyo", "Asia/Kolkata", "UTC"]
)
def test_the_dashboard_from_kept_weeks_equals_the_sales_added_up_in_any_timezone(
    app, monkeypatch, zone
):
    """Purchases at random moments, many within hours of a week's first instant (in
    any zone, summer time included): each week, campaign and sector as from the sales."""
    buyer = factories.BuyerFactory()
    software = factories.campaign(buyer, name="Software", price_cents=3100)
    factories.campaign(buyer, name="Hardware", slugs=("it/hardware",), price_cents=4700)
    hardware_magnet = factories.magnet(slug="it/hardware")
    software_magnet = factories.magnet()
    for n in range(14):
        factories.lead(hardware_magnet if n % 3 == 0 else software_magnet)
    sales = db.session.scalars(
        select(Sale).where(Sale.buyer_id == buyer.id).order_by(Sale.id)
    ).all()
    assert len(sales) == 14
    # Deals and disputes first (within the return window), then the purchases moved:
    # each move carries its sale's dispute and deal to the new day.
    quality.record_outcome(buyer.id, sales[1].id, status="won", amount_cents=120_000)
    quality.record_outcome(buyer.id, sales[2].id, status="contacted")
    admin = factories.admin_user()
    for n in (3, 5):
        dispute = disputes.open_dispute(buyer.id, sales[n].id, "fake", "Fake.")
        disputes.resolve_dispute(dispute.id, admin_user_id=admin.id, accept=n == 3)
    rng = random.Random(zone)
    now = datetime(2026, 11, 4, 15, 0, tzinfo=UTC)  # the last weeks span October's change
    local = ZoneInfo(zone)
    mondays = [date(2026, 11, 2) - timedelta(weeks=n) for n in range(7)]
    for n, sale in enumerate(sales):
        if n % 2:  # within three hours of a local Monday's midnight
            start = datetime.combine(rng.choice(mondays), time.min, tzinfo=local)
            sale.created_at = (start + timedelta(minutes=rng.randint(-180, 180))).astimezone(UTC)
        else:
            sale.created_at = now - timedelta(minutes=rng.randint(0, 7 * 7 * 24 * 60))
    db.session.commit()
    db.session.execute(
        Sale.__table__.update().where(Sale.id == sales[7].id).values(campaign_id=None)
    )
    db.session.commit()
    monkeypatch.setattr(dashboards, "_zone", lambda: local)
    names = {campaign.id: campaign.name for campaign in db.session.scalars(select(Campaign))}
    assert software.id in names
    for weeks in (4, 6, 12):
        shown = dashboards.dashboard(buyer.id, weeks, now=now)
        by_week, by_campaign, by_sector = direct_dashboard(buyer.id, weeks, now, local)
        assert [as_tuple(figures) for _day, figures in shown.weeks] == [
            tuple(values) for values in by_week
        ]
        assert sorted((name or "", as_tuple(f)) for name, f in shown.by_campaign) == sorted(
            (names.get(key, ""), tuple(values)) for key, values in by_campaign.items()
        )
        assert sorted(as_tuple(f) for _name, f in shown.by_sector) == sorted(
            tuple(values) for values in by_sector.values()
        )
        assert as_tuple(shown.total) == tuple(
            sum(values[n] for values in by_week) for n in range(len(FIGURES))
        )
