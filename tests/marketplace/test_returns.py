"""Returns that decide themselves: the platform's flags and the buyer's return cap accept
a claim as soon as the buyer opens it, name the rule, and book the credit once; every
other claim waits for an admin, who sees the buyer's return rate beside it."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, func, select

from marketplace import disputes, mail, returns
from marketplace.api_keys import issue_api_key
from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    BillingStatus,
    Dispute,
    DisputeStatus,
    Lead,
    LedgerEntry,
    LedgerKind,
    MailRefusal,
    Organization,
    OutboxMail,
    ReturnRule,
    Sale,
    SaleSource,
    SuppressionEntry,
    utcnow,
)
from marketplace.privacy.erasure import blank_leads
from marketplace.returns import flags, rules
from tests import factories
from tests.conftest import english_client

PRICE = 4800
PEOPLE = itertools.count(1)  # a different person for every lead bought


@pytest.fixture(autouse=True)
def rules_put_back():
    """return_rules is seeded by the migration and kept between tests: put it back."""
    saved = [
        (rule.key, rule.enabled, rule.parameter, rule.updated_at, rule.updated_by_id)
        for rule in db.session.scalars(select(ReturnRule))
    ]
    assert {key for key, *_ in saved} == {"platform_flagged", "return_cap"}
    yield
    db.session.rollback()
    db.session.execute(delete(ReturnRule))
    for key, enabled, parameter, updated_at, updated_by_id in saved:
        db.session.add(
            ReturnRule(
                key=key,
                enabled=enabled,
                parameter=parameter,
                updated_at=updated_at,
                updated_by_id=updated_by_id,
            )
        )
    db.session.commit()


def buy(buyer, count: int) -> list[Sale]:
    """``count`` leads of different people sold to the buyer through its campaign."""
    magnet = factories.magnet(max_buyers=1)
    sales = []
    for _ in range(count):
        n = next(PEOPLE)
        captured = factories.lead(
            magnet,
            email=f"person{n}@firm.fr",
            phone=f"06 12 {n // 10_000 % 100:02d} {n // 100 % 100:02d} {n % 100:02d}",
        )
        sale = db.session.scalar(select(Sale).where(Sale.lead_id == captured.lead_id))
        assert sale is not None and sale.buyer_id == buyer.id
        sales.append(sale)
    return sales


def buyer_with_campaign():
    buyer = factories.buyer_user().organization  # its owner is told by e-mail
    factories.campaign(buyer, price_cents=PRICE)
    return buyer


def claim(sale: Sale, reason: str = "invalid_contact") -> Dispute:
    return returns.open_dispute_and_decide(sale.buyer_id, sale.id, reason, "Unreachable.")


def set_rules(*, platform_flagged=True, return_cap=True, cap_percent=15) -> None:
    rules.update_rules(
        factories.admin_user().id,
        rules.RulesChange(platform_flagged, return_cap, cap_percent, "A test changes them."),
    )


def credits_of(sale: Sale) -> int:
    return db.session.scalar(
        select(func.count(LedgerEntry.id)).where(
            LedgerEntry.sale_id == sale.id, LedgerEntry.kind == LedgerKind.DISPUTE_CREDIT
        )
    )


# ------------------------------------------------------------------- the platform's flags


def flag_duplicate(sale: Sale) -> None:
    """The same person (by phone) sold to the same buyer the day before, through another
    publisher's lead: a sale the dedupe should have stopped (as a race could leave it)."""
    lead = db.session.get(Lead, sale.lead_id)
    earlier = factories.lead(
        factories.magnet(), distribute=False, email="other.address@firm.fr", phone=lead.phone
    )
    db.session.add(
        Sale(
            lead_id=earlier.lead_id,
            buyer_id=sale.buyer_id,
            source=SaleSource.CATALOGUE,
            price_cents=PRICE,
            created_at=sale.created_at - timedelta(days=1),
        )
    )
    db.session.commit()


def flag_suppressed(sale: Sale) -> None:
    """The person objected after the sale: the suppression list holds their hash."""
    lead = db.session.get(Lead, sale.lead_id)
    db.session.add(SuppressionEntry(email_hash=lead.phone_hash, reason="objection"))
    db.session.commit()


def flag_erased(sale: Sale) -> None:
    blank_leads([sale.lead_id])
    db.session.commit()


def flag_bounced(sale: Sale) -> None:
    db.session.add(
        MailRefusal(
            address_hash=db.session.get(Lead, sale.lead_id).email_hash,
            smtp_code=550,
            refused_at=utcnow(),
        )
    )
    db.session.commit()


FLAGS = {
    "duplicate_found_later": flag_duplicate,
    "suppressed_person": flag_suppressed,
    "erased_contact": flag_erased,
    "bounced_email": flag_bounced,
}


@pytest.mark.parametrize("rule", sorted(FLAGS))
def test_a_lead_the_platform_flagged_is_accepted_at_once_and_the_rule_named(rule, run_jobs):
    buyer = buyer_with_campaign()
    [sale] = buy(buyer, 1)  # one lead: the cap (15 %) accepts nothing
    FLAGS[rule](sale)

    dispute = claim(sale)
    run_jobs()

    assert (dispute.status, dispute.decided_by_rule) == (DisputeStatus.ACCEPTED, rule)
    assert dispute.resolved_by_id is None
    assert credits_of(sale) == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "dispute.accepted"))
    assert event.actor_user_id is None and event.details["rule"] == rule
    told = db.session.scalar(select(OutboxMail).where(OutboxMail.topic == "dispute"))
    assert "automatically" in told.body_text


def test_an_earlier_sale_outside_the_dedupe_window_or_returned_is_no_duplicate(app):
    buyer = buyer_with_campaign()
    [sale] = buy(buyer, 1)
    flag_duplicate(sale)
    earlier = db.session.scalar(select(Sale).where(Sale.id != sale.id))
    assert flags.flag_of(sale) == ("duplicate_found_later", {"earlier_sale_id": earlier.id})
    earlier.created_at = sale.created_at - timedelta(days=app.config["DEDUPE_WINDOW_DAYS"] + 1)
    db.session.commit()
    assert flags.flag_of(sale) is None


def test_a_lead_nobody_flagged_waits_for_a_person():
    buyer = buyer_with_campaign()
    [sale] = buy(buyer, 1)
    dispute = claim(sale)
    assert (dispute.status, dispute.decided_by_rule) == (DisputeStatus.OPEN, None)
    assert credits_of(sale) == 0


# ------------------------------------------------------------------------ the return cap


def test_within_the_cap_accepted_exactly_at_it_and_the_next_claim_waits(run_jobs):
    buyer = buyer_with_campaign()
    sales = buy(buyer, 20)  # 15 % of 20: three returns

    decided = [claim(sale) for sale in sales[:4]]
    run_jobs()

    assert [d.decided_by_rule for d in decided] == ["return_cap"] * 3 + [None]
    assert [d.status for d in decided] == [DisputeStatus.ACCEPTED] * 3 + [DisputeStatus.OPEN]
    third = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "dispute.accepted").order_by(AuditEvent.id)
    ).all()[-1]
    assert third.details["rule"] == "return_cap"
    assert (
        third.details["cap_percent"],
        third.details["leads_bought_this_month"],
        third.details["returns_accepted_this_month"],
    ) == (15, 20, 3)


def test_an_admins_acceptance_counts_against_the_cap():
    buyer = buyer_with_campaign()
    sales = buy(buyer, 7)  # 15 % of 7 = 1.05: one return
    set_rules(return_cap=False)
    waiting = claim(sales[0])
    disputes.resolve_dispute(waiting.id, admin_user_id=factories.admin_user().id, accept=True)
    set_rules(return_cap=True)
    assert claim(sales[1]).status is DisputeStatus.OPEN


@pytest.mark.parametrize("rule", ["platform_flagged", "return_cap"])
def test_a_rule_turned_off_leaves_the_claim_waiting(rule):
    set_rules(**{rule: False})
    buyer = buyer_with_campaign()
    if rule == "platform_flagged":
        [sale] = buy(buyer, 1)  # the cap accepts nothing of one lead
        flag_erased(sale)
    else:
        sale = buy(buyer, 20)[0]
    dispute = claim(sale)
    assert (dispute.status, dispute.decided_by_rule) == (DisputeStatus.OPEN, None)


def test_a_cap_of_zero_accepts_nothing():
    set_rules(cap_percent=0)
    buyer = buyer_with_campaign()
    sales = buy(buyer, 10)
    assert claim(sales[0]).status is DisputeStatus.OPEN


@pytest.mark.parametrize(
    "standing",
    [BillingStatus.SUSPENDED, BillingStatus.PAYMENT_FAILED, BillingStatus.OVER_CREDIT_LIMIT],
)
def test_a_buyer_not_in_good_standing_waits_for_a_person(standing):
    buyer = buyer_with_campaign()
    sales = buy(buyer, 20)
    db.session.get(Organization, buyer.id).billing_status = standing
    db.session.commit()
    assert claim(sales[0]).status is DisputeStatus.OPEN
    flag_erased(sales[1])  # the platform's own flags are no fault of the buyer's
    assert claim(sales[1]).decided_by_rule == "erased_contact"


def test_the_month_is_the_buyers_and_last_months_purchases_do_not_count():
    buyer = buyer_with_campaign()
    sales = buy(buyer, 20)
    since = returns.decisions.month_start(utcnow(), buyer.timezone)
    for sale in sales[1:]:
        sale.created_at = since - timedelta(minutes=1)
    db.session.commit()
    # This month: one lead bought, so even one return is above 15 %.
    assert claim(sales[0]).status is DisputeStatus.OPEN


@pytest.mark.services
def test_two_claims_at_once_at_the_edge_of_the_cap_do_not_both_pass(app, monkeypatch):
    buyer = buyer_with_campaign()
    sales = buy(buyer, 7)  # room for one return only
    key = issue_api_key(buyer.id, "k")[1]
    # Both claims reach the rules together, after the flags (none) and before the cap.
    together = threading.Barrier(2, timeout=20)
    real_flag_of = flags.flag_of

    def flag_of_together(sale):
        found = real_flag_of(sale)
        together.wait()
        return found

    monkeypatch.setattr(flags, "flag_of", flag_of_together)

    def dispute(sale_id):
        answer = english_client(app).post(
            f"/api/v1/purchases/{sale_id}/dispute",
            json={"reason": "out_of_target"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer.get_json()["dispute"]

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(dispute, [sales[0].id, sales[1].id]))

    assert sorted(a["status"] for a in answers) == ["accepted", "open"]
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == LedgerKind.DISPUTE_CREDIT)
        )
        == 1
    )


# -------------------------------------------------------------- the credit, booked once


def test_a_rules_acceptance_books_the_credit_once_and_closes_the_claim(run_jobs):
    buyer = buyer_with_campaign()
    [sale] = buy(buyer, 1)
    flag_erased(sale)
    dispute = claim(sale)
    run_jobs()
    assert returns.decide_by_rules(dispute.id) is None  # decided already: nothing more
    with pytest.raises(disputes.DisputeClosed):
        disputes.resolve_dispute(dispute.id, admin_user_id=factories.admin_user().id, accept=True)
    assert credits_of(sale) == 1
    reversals = db.session.scalar(
        select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == LedgerKind.EARNING_REVERSAL)
    )
    assert reversals == 1
    assert (
        db.session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.topic == "dispute"))
        == 1
    )


def test_a_rule_may_only_accept_and_never_with_an_admin():
    buyer = buyer_with_campaign()
    [sale] = buy(buyer, 1)
    dispute = disputes.open_dispute(buyer.id, sale.id, "fake", None)
    for wrong in (
        {"admin_user_id": None, "accept": True},
        {"admin_user_id": None, "accept": False, "decided_by_rule": "return_cap"},
        {
            "admin_user_id": factories.admin_user().id,
            "accept": True,
            "decided_by_rule": "return_cap",
        },
    ):
        with pytest.raises(ValueError):
            disputes.resolve_dispute(dispute.id, **wrong)
    assert db.session.get(Dispute, dispute.id).status is DisputeStatus.OPEN


# ------------------------------------------------------ a permanent refusal, recorded


class RefusingInbox:
    """A real local SMTP server that refuses one address for good (550)."""

    def __init__(self, refused: str):
        self.refused = refused.lower()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() == self.refused:
            return f"550 5.1.1 <{address}>: No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return "250 Message accepted for delivery"


@pytest.fixture
def refusing_smtp(app):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(RefusingInbox("nobody.home@firm.fr"), hostname="127.0.0.1", port=port)
    controller.start()
    saved = app.config.get("SMTP_URL")
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    yield
    app.config["SMTP_URL"] = saved
    controller.stop()


def test_a_mail_refused_for_good_is_kept_by_hash_and_flags_the_lead(refusing_smtp, run_jobs):
    buyer = buyer_with_campaign()
    captured = factories.lead(factories.magnet(max_buyers=1), email="Nobody.Home@firm.fr")
    sale = db.session.scalar(select(Sale).where(Sale.lead_id == captured.lead_id))

    mail_id = mail.queue_mail(
        "Nobody.Home@firm.fr", "Your guide", "Here it is.", topic="asset_download"
    )
    run_jobs()  # refused for good: not retried, nothing raised

    sent = db.session.get(OutboxMail, mail_id)
    assert sent.sent_at is None and "550" in sent.last_error and "No such user" in sent.last_error
    assert "nobody" not in sent.last_error.lower()  # the reply's address is not kept
    refusal = db.session.scalar(select(MailRefusal))
    lead = db.session.get(Lead, captured.lead_id)
    assert (refusal.address_hash, refusal.smtp_code) == (lead.email_hash, 550)
    assert claim(sale).decided_by_rule == "bounced_email"
    assert buyer.id == sale.buyer_id


def test_a_mail_accepted_leaves_no_refusal(refusing_smtp, run_jobs):
    mail_id = mail.queue_mail("someone@firm.fr", "Hello", "Hi.", topic="asset_download")
    run_jobs()
    assert db.session.get(OutboxMail, mail_id).sent_at is not None
    assert db.session.scalar(select(func.count(MailRefusal.id))) == 0
