"""The person's rights: a request confirmed by a signed link, an admin's decision, and
an erasure that leaves no trace of the person in any text column of any table, while
every buyer that held the data is told exactly once and the ledger still balances."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import String, Text, func, inspect, select, text
from sqlalchemy.types import JSON

from marketplace.api_keys import issue_api_key
from marketplace.extensions import db
from marketplace.models import (
    Delivery,
    GdprRequest,
    GdprRequestStatus,
    Lead,
    LeadStatus,
    LedgerEntry,
    OutboxMail,
    RecipientNotice,
    Sale,
    utcnow,
)
from marketplace.privacy import decisions, requests
from tests import factories
from tests.conftest import csrf_token_from, english_client

LINK = re.compile(r"https?://[^/\s]+(/privacy/requests/\S+)")
PERSON = {
    "first_name": "Gwendoline",
    "last_name": "Quastrelli",
    "email": "gwendoline.quastrelli@exemple.fr",
    "phone": "06 41 52 63 74",
    "company": "Quastrelli Menuiserie",
}
NEEDLES = ("gwendoline", "quastrelli", "641526374", "41 52 63 74")


def ask(app, kind="erasure", email=PERSON["email"], **extra):
    http = english_client(app)
    token = csrf_token_from(http.get("/privacy").get_data(as_text=True))
    response = http.post(
        "/privacy", data={"kind": kind, "email": email, "csrf_token": token, **extra}
    )
    return response


def link_sent_to(email: str) -> str:
    mail = db.session.scalars(
        select(OutboxMail)
        .where(OutboxMail.to_address == email, OutboxMail.topic == "privacy.confirm")
        .order_by(OutboxMail.id.desc())
    ).first()
    return LINK.search(mail.body_text).group(1)


def confirm(app, link):
    http = english_client(app)
    page = http.get(link)
    assert page.status_code == 200
    return http.post(link, data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})


def confirmed_request(app, kind="erasure", email=PERSON["email"]) -> GdprRequest:
    assert ask(app, kind, email).status_code == 200
    link = link_sent_to(email)
    assert confirm(app, link).status_code == 200
    db.session.expire_all()
    return db.session.scalars(select(GdprRequest).order_by(GdprRequest.id.desc())).first()


def _link_for(token):
    return f"http://localhost/privacy/requests/{token}"


def test_a_request_is_confirmed_by_its_link_and_never_says_whether_the_address_is_known(app):
    factories.lead(email="known.person@exemple.fr")
    known = ask(app, email="known.person@exemple.fr").get_data(as_text=True)
    unknown = ask(app, email="nobody.here@exemple.fr").get_data(as_text=True)
    sentence = "If this address is yours, a message is on its way"
    assert sentence in known and sentence in unknown

    link = link_sent_to("known.person@exemple.fr")
    page = english_client(app).get(link)  # a mail scanner opening the link changes nothing
    assert "confirm my request" in page.get_data(as_text=True)
    found = db.session.scalar(
        select(GdprRequest).where(GdprRequest.email == "known.person@exemple.fr")
    )
    assert found.status is GdprRequestStatus.UNVERIFIED

    confirmed = confirm(app, link)
    assert "being handled" in confirmed.get_data(as_text=True)
    db.session.refresh(found)
    assert found.status is GdprRequestStatus.OPEN
    assert timedelta(days=27) < found.due_at - found.verified_at < timedelta(days=32)
    # The same link then follows the request.
    assert "being handled" in english_client(app).get(link).get_data(as_text=True)


def test_a_bad_or_late_link_and_bad_input_get_clear_answers(app, monkeypatch):
    assert english_client(app).get("/privacy/requests/forged").status_code == 410
    response = ask(app, email="not an address", kind="everything")
    assert response.status_code == 422
    assert response.get_data(as_text=True).count("invalid-feedback") >= 2
    ask(app, email="late.person@exemple.fr")
    link = link_sent_to("late.person@exemple.fr")
    monkeypatch.setattr(requests, "CONFIRM_WITHIN", timedelta(seconds=-1))
    assert confirm(app, link).status_code == 410
    found = db.session.scalar(
        select(GdprRequest).where(GdprRequest.email == "late.person@exemple.fr")
    )
    assert found.status is GdprRequestStatus.UNVERIFIED


def test_the_queue_puts_overdue_requests_first_and_is_for_admins_only(app, login_as):
    late = confirmed_request(app, "access", "first.person@exemple.fr")
    recent = confirmed_request(app, "objection", "second.person@exemple.fr")
    late.due_at = utcnow() - timedelta(days=1)
    db.session.commit()
    page = login_as(factories.admin_user()).get("/admin/privacy").get_data(as_text=True)
    queue = page.split('id="privacy-queue"')[1].split("</table>")[0]
    assert re.findall(r"<tr[^>]*>\s*<td>(\d+)</td>", queue) == [str(late.id), str(recent.id)]
    assert "overdue" in queue
    for user in (factories.buyer_user(), factories.publisher_user()):
        assert login_as(user).get("/admin/privacy").status_code == 403
        assert login_as(user).get(f"/admin/privacy/{late.id}").status_code == 403


def _text_columns():
    inspector = inspect(db.engine)
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        for column in inspector.get_columns(table):
            if isinstance(column["type"], (String, Text, JSON)) or "JSON" in str(column["type"]):
                yield table, column["name"]


def _hits(needle: str) -> list[tuple[str, str]]:
    found = []
    for table, column in _text_columns():
        count = db.session.execute(
            text(f'SELECT count(*) FROM "{table}" WHERE lower(CAST("{column}" AS TEXT)) LIKE :n'),
            {"n": f"%{needle.lower()}%"},
        ).scalar()
        if count:
            found.append((table, column))
    return found


def _ledger():
    return db.session.execute(
        select(func.count(LedgerEntry.id), func.sum(LedgerEntry.amount_cents))
    ).one()


def test_erasure_leaves_no_trace_tells_each_holder_once_and_keeps_the_ledger(
    app, login_as, run_jobs
):
    magnet = factories.magnet(max_buyers=2)
    first = factories.campaign(
        webhook_url="http://127.0.0.1:9/hook", email_recipients=["sales@acheteur-un.fr"]
    )
    second = factories.campaign()
    # Without lead recipients, a buyer's owners are told.
    owner = factories.UserFactory(organization=second.buyer, email="owner@acheteur-deux.fr")
    sold = factories.lead(magnet, **PERSON)
    factories.lead(magnet, **{**PERSON, "message": "Gwendoline again, for a second quote."})
    sales = db.session.scalars(select(Sale).where(Sale.lead_id == sold.lead_id)).all()
    assert {s.buyer_id for s in sales} == {first.buyer_id, second.buyer_id}
    # The buyers wrote about the person: their words are personal data too.
    sales[0].rating_comment = "Gwendoline Quastrelli was very nice on the phone"
    db.session.commit()
    # An earlier access request of the same person, answered.
    earlier = confirmed_request(app, "access")
    decisions.complete(earlier.id, factories.admin_user().id, link_for=_link_for)
    assert _hits("quastrelli"), "the test must start with the person in the database"
    ledger_before = _ledger()

    request = confirmed_request(app, "erasure")
    admin = factories.admin_user()
    http = login_as(admin)
    page = http.get(f"/admin/privacy/{request.id}").get_data(as_text=True)
    assert "Quastrelli" in page and "Complete the request" in page
    token = csrf_token_from(page)
    done = http.post(f"/admin/privacy/{request.id}/complete", data={"csrf_token": token})
    assert done.status_code == 302
    decisions.send_recipient_notices()
    decisions.send_recipient_notices()  # run twice: nobody is told twice
    run_jobs()

    leftovers = {needle: _hits(needle) for needle in NEEDLES}
    assert leftovers == {needle: [] for needle in NEEDLES}
    statuses = db.session.scalars(select(Lead.status)).all()
    assert statuses == [LeadStatus.ERASED, LeadStatus.ERASED]

    notices = db.session.scalars(select(RecipientNotice)).all()
    assert sorted(n.sale_id for n in notices) == sorted(s.id for s in sales)
    assert all(n.mailed_at is not None for n in notices)
    notice_mails = db.session.scalars(
        select(OutboxMail).where(OutboxMail.topic == "privacy.erasure_notice")
    ).all()
    assert sorted(m.to_address for m in notice_mails) == sorted(
        ["sales@acheteur-un.fr", owner.email]
    )
    webhooks = db.session.scalars(select(Delivery).where(Delivery.event == "lead.erased")).all()
    assert [d.sale_id for d in webhooks] == [s.id for s in sales if s.buyer_id == first.buyer_id]
    assert _ledger() == ledger_before

    # The buyer sees the notice, not the person, on the lead's page, the export, the API.
    buyer_user = factories.UserFactory(organization=first.buyer)
    buyer_http = login_as(buyer_user)
    sale = next(s for s in sales if s.buyer_id == first.buyer_id)
    lead_page = buyer_http.get(f"/buyers/purchases/{sale.id}").get_data(as_text=True)
    assert "asked for the erasure of their data" in lead_page
    export = buyer_http.get("/buyers/inbox.csv").get_data(as_text=True)
    key = issue_api_key(first.buyer_id, "erp")[1]
    api = english_client(app).get("/api/v1/purchases", headers={"Authorization": f"Bearer {key}"})
    for body in (lead_page, export, api.get_data(as_text=True)):
        assert not any(needle in body.lower() for needle in NEEDLES)
    # Another buyer never sees this buyer's notice.
    stranger = login_as(factories.buyer_user())
    assert stranger.get(f"/buyers/purchases/{sale.id}").status_code == 404

    # The person is never sold again.
    again = factories.lead(magnet, **PERSON)
    assert db.session.get(Lead, again.lead_id).status is LeadStatus.REJECTED


def test_two_admins_deciding_one_request_decide_once(app):
    request = confirmed_request(app, "objection")
    first, second = factories.admin_user(), factories.admin_user()
    decisions.complete(request.id, first.id, link_for=_link_for)
    with pytest.raises(requests.AlreadyDecided):
        decisions.complete(request.id, second.id, link_for=_link_for)
    with pytest.raises(requests.AlreadyDecided):
        requests.refuse(request.id, second.id, "We cannot find you.")
    db.session.expire_all()
    assert db.session.get(GdprRequest, request.id).decided_by_user_id == first.id


def test_an_objection_stops_every_later_sale(app):
    factories.campaign()
    request = confirmed_request(app, "objection")
    decisions.complete(request.id, factories.admin_user().id, link_for=_link_for)
    later = factories.lead(**PERSON)
    assert db.session.get(Lead, later.lead_id).status is LeadStatus.REJECTED
    assert db.session.scalar(select(func.count(Sale.id))) == 0


def test_an_objection_reaches_the_person_by_phone_under_another_address(app):
    factories.campaign()
    factories.lead(**PERSON)
    request = confirmed_request(app, "objection")
    decisions.complete(request.id, factories.admin_user().id, link_for=_link_for)
    later = factories.lead(**{**PERSON, "email": "g.quastrelli@autre-adresse.fr"})
    assert db.session.get(Lead, later.lead_id).status is LeadStatus.REJECTED
    assert db.session.scalar(select(func.count(Sale.id))) == 1  # the first lead's sale only


def test_an_answered_access_request_shows_the_data_and_who_received_it(app):
    campaign = factories.campaign()
    factories.lead(**PERSON)
    request = confirmed_request(app, "access")
    decisions.complete(request.id, factories.admin_user().id, link_for=_link_for)
    answer = db.session.scalars(
        select(OutboxMail).where(OutboxMail.topic == "privacy.access_completed")
    ).one()
    link = LINK.search(answer.body_text).group(1)
    page = english_client(app).get(link).get_data(as_text=True)
    assert "Quastrelli" in page and campaign.buyer.name in page
    data = english_client(app).get(f"{link}/data.json").get_json()
    [lead] = data["leads"]
    assert lead["contact"]["email"] == PERSON["email"]
    assert lead["consent"]["text"] and lead["consent"]["partners_shown"]
    assert [r["company"] for r in lead["recipients"]] == [campaign.buyer.name]
    # The link of one request never opens another's data.
    other = confirmed_request(app, "access", "someone.else@exemple.fr")
    assert english_client(app).get(link.replace(str(request.id), str(other.id))).status_code == 410


def test_a_rectification_corrects_every_lead_and_tells_the_holders(app, login_as):
    factories.campaign(webhook_url="http://127.0.0.1:9/hook")
    captured = factories.lead(**PERSON)
    request = confirmed_request(app, "rectification")
    http = login_as(factories.admin_user())
    page = http.get(f"/admin/privacy/{request.id}").get_data(as_text=True)
    token = csrf_token_from(page)
    refused = http.post(
        f"/admin/privacy/{request.id}/complete", data={"csrf_token": token, "phone": "12"}
    )
    assert refused.status_code == 422
    done = http.post(
        f"/admin/privacy/{request.id}/complete",
        data={"csrf_token": token, "last_name": "Quastrelli-Martin"},
    )
    assert done.status_code == 302
    assert db.session.get(Lead, captured.lead_id).last_name == "Quastrelli-Martin"
    assert db.session.scalar(select(RecipientNotice.kind)) == "rectification"
    assert db.session.scalar(select(Delivery.event).where(Delivery.event == "lead.rectified"))

    # A second correction of the same person, months later, reaches the buyer too.
    again = confirmed_request(app, "rectification")
    page = http.get(f"/admin/privacy/{again.id}").get_data(as_text=True)
    http.post(
        f"/admin/privacy/{again.id}/complete",
        data={"csrf_token": csrf_token_from(page), "last_name": "Martin"},
    )
    occasions = db.session.scalars(
        select(Delivery.occasion).where(Delivery.event == "lead.rectified")
    ).all()
    assert sorted(occasions) == sorted([f"privacy:{request.id}", f"privacy:{again.id}"])


def test_retention_blanks_only_leads_inactive_for_the_whole_period(app):
    from marketplace.models import AuditEvent
    from marketplace.privacy import retention

    factories.campaign()
    now = utcnow()
    old = factories.lead(**PERSON, now=now - timedelta(days=37 * 31))
    recent = factories.lead(now=now - timedelta(days=30))
    # Old, but a buyer moved it along its pipeline last month: still in use.
    worked = factories.lead(now=now - timedelta(days=37 * 31))
    sale = db.session.scalar(select(Sale).where(Sale.lead_id == worked.lead_id))
    from marketplace.quality import record_outcome

    record_outcome(sale.buyer_id, sale.id, status="contacted", now=now - timedelta(days=30))
    assert retention.blank_expired_leads(now) == 1
    assert retention.blank_expired_leads(now) == 0
    statuses = {
        lead_id: db.session.get(Lead, lead_id).status
        for lead_id in (old.lead_id, recent.lead_id, worked.lead_id)
    }
    assert statuses[old.lead_id] is LeadStatus.ERASED
    assert statuses[recent.lead_id] is not LeadStatus.ERASED
    assert statuses[worked.lead_id] is not LeadStatus.ERASED
    assert not _hits("quastrelli")
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "privacy.retention_blanked")
    )
    assert event.details["leads"] == 1


@pytest.mark.services
def test_two_admins_at_the_same_instant_decide_a_request_and_a_dispute_once(app, login_as):
    from concurrent.futures import ThreadPoolExecutor

    from marketplace.disputes import open_dispute
    from marketplace.models import Dispute

    request = confirmed_request(app, "objection")
    campaign = factories.campaign()
    captured = factories.lead()
    sale = db.session.scalar(select(Sale).where(Sale.lead_id == captured.lead_id))
    dispute = open_dispute(campaign.buyer_id, sale.id, reason="fake", comment="Test entry.")
    request_id, dispute_id = request.id, dispute.id  # read in threads: no lazy loads there
    admins = [login_as(factories.admin_user()) for _ in range(4)]
    pages = [
        csrf_token_from(http.get(f"/admin/privacy/{request.id}").get_data(as_text=True))
        for http in admins
    ]

    def complete(pair):
        http, token = pair
        return http.post(
            f"/admin/privacy/{request_id}/complete", data={"csrf_token": token}
        ).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = sorted(pool.map(complete, zip(admins, pages, strict=True)))
    # Every admin is sent back to a page (the losers with "already decided"): no 500.
    assert answers == [302, 302, 302, 302]
    events = db.session.scalars(select(func.count()).select_from(RecipientNotice)).one()
    assert events == 0
    from marketplace.models import PrivacyRequestEvent

    assert (
        db.session.scalar(
            select(func.count(PrivacyRequestEvent.id)).where(
                PrivacyRequestEvent.request_id == request.id,
                PrivacyRequestEvent.action == "completed",
            )
        )
        == 1
    )

    from marketplace.disputes import resolve_dispute

    admin_ids = [factories.admin_user().id for _ in range(4)]

    def decide(admin_id):
        with app.app_context():
            try:
                resolve_dispute(dispute_id, admin_user_id=admin_id, accept=True)
                return "decided"
            except Exception as error:  # the loser's refusal, whatever it is
                return type(error).__name__
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(decide, admin_ids))
    assert outcomes.count("decided") == 1
    assert set(outcomes) - {"decided"} == {"DisputeClosed"}
    credits = db.session.scalar(
        select(func.count(LedgerEntry.id)).where(LedgerEntry.sale_id == sale.id)
    )
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).status.value == "accepted"
    assert credits == 2 + 2  # the sale's debit and earning, the credit and its reversal
