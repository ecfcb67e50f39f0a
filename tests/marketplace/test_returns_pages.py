"""The return rules' page, the dispute queue's return rate and the rule's words, on the
buyer's lead page and in its API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace import returns
from marketplace.api_keys import issue_api_key
from marketplace.extensions import db
from marketplace.models import AuditEvent, DisputeStatus, ReturnRule, Sale
from tests import factories
from tests.conftest import csrf_token_from
from tests.marketplace.test_returns import buy, buyer_with_campaign, flag_erased, rules_put_back

__all__ = ["rules_put_back"]  # the fixture that puts the seeded rules back, used here too
pytestmark = pytest.mark.usefixtures("rules_put_back")
URL = "/admin/returns"


def post_rules(http, **fields):
    token = csrf_token_from(http.get(URL).get_data(as_text=True))
    data = {"cap_percent": "15", "reason": "The trade's cap.", "csrf_token": token}
    data.update({key: value for key, value in fields.items() if value is not None})
    for name in ("platform_flagged", "return_cap"):
        if data.get(name) is False:
            del data[name]
        elif name not in data:
            data[name] = "y"
    return http.post(URL, data=data)


def rule(key: str) -> ReturnRule:
    db.session.expire_all()
    return db.session.get(ReturnRule, key)


def test_the_seeded_rules_are_the_flags_on_and_a_15_percent_cap(login_as):
    assert (rule("platform_flagged").enabled, rule("platform_flagged").parameter) == (True, None)
    assert (rule("return_cap").enabled, rule("return_cap").parameter) == (True, 15)
    page = login_as(factories.admin_user()).get(URL).get_data(as_text=True)
    assert 'name="cap_percent"' in page and 'value="15"' in page
    assert "Accept the leads the platform flagged" in page


@pytest.mark.parametrize(
    "fields, field, status",
    [
        ({"cap_percent": "15.5"}, "cap_percent", 400),
        ({"cap_percent": "101"}, "cap_percent", 400),
        ({"cap_percent": "-1"}, "cap_percent", 400),
        ({"cap_percent": ""}, "cap_percent", 400),
        ({"cap_percent": "quinze"}, "cap_percent", 400),
        ({"reason": ""}, "reason", 400),
    ],
)
def test_a_bad_change_is_refused_at_its_field(login_as, fields, field, status):
    admin = login_as(factories.admin_user())
    answer = post_rules(admin, **fields)
    assert answer.status_code == status
    page = answer.get_data(as_text=True)
    assert re.search(rf'id="{field}"[^>]*is-invalid|is-invalid[^>]*id="{field}"', page), field
    assert 'id="error-summary"' in page
    assert rule("return_cap").parameter == 15
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action.like("returns.%"))) is None


def test_the_service_refuses_what_the_form_would_too():
    with pytest.raises(returns.rules.ValidationFailed) as refused:
        returns.rules.update_rules(
            factories.admin_user().id, returns.rules.RulesChange(True, True, 150, "Too much.")
        )
    assert set(refused.value.fields) == {"cap_percent"}


def test_an_admins_change_applies_to_the_next_claim_and_is_audited(login_as):
    admin_user = factories.admin_user()
    admin = login_as(admin_user)
    answer = post_rules(admin, cap_percent="20", platform_flagged=False, reason="Softer month.")
    assert answer.status_code == 302
    assert (rule("return_cap").parameter, rule("platform_flagged").enabled) == (20, False)
    assert rule("return_cap").updated_by_id == admin_user.id
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "returns.rules_changed")
    )
    assert event.actor_user_id == admin_user.id
    assert event.details == {
        "reason": "Softer month.",
        "changed": {"platform_flagged.enabled": [True, False], "return_cap.percent": [15, 20]},
    }
    trail = admin.get("/admin/audit?action=returns.").get_data(as_text=True)
    assert "return rules changed" in trail and "Softer month." in trail
    assert "15 → 20" in trail
    # Saving the same values again changes nothing and records nothing.
    assert post_rules(admin, cap_percent="20", platform_flagged=False).status_code == 302
    assert (
        len(db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("returns.%"))).all())
        == 1
    )

    buyer = buyer_with_campaign()
    [sale] = buy(buyer, 1)
    flag_erased(sale)
    assert (
        returns.open_dispute_and_decide(buyer.id, sale.id, "fake", None).status
        is DisputeStatus.OPEN
    )


def test_only_admins_see_the_rules(client, login_as):
    assert client.get(URL).status_code == 302  # to the login page
    for user in (factories.buyer_user(), factories.publisher_user()):
        http = login_as(user)
        assert http.get(URL).status_code == 403
        assert http.post(URL, data={"cap_percent": "100", "reason": "Let me."}).status_code in (
            400,
            403,
        )
    assert rule("return_cap").parameter == 15


def test_the_queue_shows_the_buyers_return_rate_and_the_rules_decisions(login_as):
    buyer = buyer_with_campaign()
    sales = buy(buyer, 4)
    flag_erased(sales[0])
    auto = returns.open_dispute_and_decide(buyer.id, sales[0].id, "fake", None)
    waiting = returns.open_dispute_and_decide(buyer.id, sales[1].id, "out_of_target", None)
    assert (auto.decided_by_rule, waiting.status) == ("erased_contact", DisputeStatus.OPEN)

    page = login_as(factories.admin_user()).get("/admin/disputes").get_data(as_text=True)
    rate = page.split(f'id="return-rate-{waiting.id}"')[1].split("</table>")[0]
    cells = [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td>(.*?)</td>", rate, re.S)]
    # Of 4 leads bought this month and in 90 days: 2 claimed (50 %), 1 accepted (25 %).
    assert cells == ["4", "50.0% (2)", "25.0% (1)"] * 2
    assert "accepted automatically: an erased contact" in page


def test_a_return_rate_never_passes_100_percent():
    buyer = buyer_with_campaign()
    sales = buy(buyer, 2)
    for sale in sales:
        returns.open_dispute_and_decide(buyer.id, sale.id, "fake", None)
    # Bought long ago, claimed now: they belong to no period of the rate.
    for sale in sales:
        sale.created_at = sale.created_at - timedelta(days=100)
    db.session.commit()
    [fresh] = buy(buyer, 1)
    rates = returns.return_rates([buyer.id])[buyer.id]
    for period in (rates.this_month, rates.last_90_days):
        assert (period.bought, period.claimed, period.claimed_percent) == (1, 0, 0.0)
    returns.open_dispute_and_decide(buyer.id, fresh.id, "fake", None)
    rates = returns.return_rates([buyer.id])[buyer.id]
    assert rates.last_90_days.claimed_percent == 100.0


def test_the_buyer_reads_the_rule_on_its_lead_page_and_in_the_api(login_as, client):
    owner = factories.buyer_user()
    buyer = owner.organization
    factories.campaign(buyer, price_cents=4800)
    sales = buy(buyer, 2)
    flag_erased(sales[0])
    http = login_as(owner)
    token = csrf_token_from(http.get(f"/buyers/purchases/{sales[0].id}").get_data(as_text=True))
    answer = http.post(
        f"/buyers/purchases/{sales[0].id}/dispute",
        data={"reason": "invalid_contact", "comment": "", "csrf_token": token},
        follow_redirects=True,
    )
    page = answer.get_data(as_text=True)
    assert "accepted automatically: an erased contact" in page
    assert 'id="decided-by-rule"' in page and 'id="credit"' in page

    auth = {"Authorization": f"Bearer {issue_api_key(buyer.id, 'k')[1]}"}
    pulled = client.get(f"/api/v1/purchases/{sales[0].id}", headers=auth).get_json()
    assert (pulled["dispute"]["status"], pulled["dispute"]["decided_by_rule"]) == (
        "accepted",
        "erased_contact",
    )
    made = client.post(
        f"/api/v1/purchases/{sales[1].id}/dispute", json={"reason": "out_of_target"}, headers=auth
    )
    assert made.status_code == 201
    assert (
        made.get_json()["dispute"]["status"],
        made.get_json()["dispute"]["decided_by_rule"],
    ) == (
        "open",
        None,
    )
    assert db.session.scalar(select(Sale.id).where(Sale.id == sales[1].id))


def test_the_openapi_description_names_the_rule(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    dispute = spec["components"]["schemas"]["Purchase.Dispute"]["properties"]["decided_by_rule"]
    assert "return_cap" in str(dispute) and "erased_contact" in str(dispute)
    operation = spec["paths"]["/api/v1/purchases/{sale_id}/dispute"]["post"]
    assert "decided_by_rule" in operation["description"]


def test_the_pages_read_in_french(login_as):
    buyer = buyer_with_campaign()
    sales = buy(buyer, 2)
    flag_erased(sales[0])
    returns.open_dispute_and_decide(buyer.id, sales[0].id, "fake", None)
    returns.open_dispute_and_decide(buyer.id, sales[1].id, "fake", None)
    admin = login_as(factories.admin_user())
    admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    rules_page = admin.get(URL).get_data(as_text=True)
    assert "Règles de retour" in rules_page and "plafond de 0 % cette règle" in rules_page
    queue = admin.get("/admin/disputes").get_data(as_text=True)
    assert "Taux de retour de" in queue and "accepté automatiquement : un contact effacé" in queue
