"""The admin console: every lead with its sales; closed to everybody else."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import AuditEvent
from tests import factories


def test_the_admin_sees_every_lead_and_its_sales(login_as):
    campaign = factories.campaign()
    captured = factories.lead(company="Visible Corp")
    http = login_as(factories.admin_user())

    listing = http.get("/admin/").get_data(as_text=True)
    assert f'href="/admin/leads/{captured.lead_id}"' in listing
    detail = http.get(f"/admin/leads/{captured.lead_id}").get_data(as_text=True)
    assert campaign.buyer.name in detail
    assert captured.certificate_id in detail
    # Why the campaign would not get it again, in words, never the code.
    assert "buyer already has this person" in detail
    assert "buyer_already_has_this_person" not in detail
    log = detail.split('id="distribution-log"')[1].split("</table>")[0]
    assert f"#{campaign.id}" in log and "sold" in log
    decided = detail.split("Last decided at")[1].split("</p>")[0]
    assert "UTC+" in decided and "T" not in decided.split("UTC")[0]  # no raw ISO time
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lead.contact_viewed"))


def test_an_unknown_lead_is_a_404_and_other_roles_get_a_403(login_as):
    captured = factories.lead()
    assert login_as(factories.admin_user()).get("/admin/leads/999999").status_code == 404
    for user in (factories.buyer_user(), factories.publisher_user()):
        assert login_as(user).get(f"/admin/leads/{captured.lead_id}").status_code == 403


def test_the_admin_list_filters_by_status(login_as):
    factories.lead()  # no campaign: unsold
    http = login_as(factories.admin_user())
    assert http.get("/admin/?status=unsold").status_code == 200
    assert http.get("/admin/?status=<script>").status_code == 200


def test_the_admin_lead_page_counts_the_campaigns_ranked_below_the_places(login_as):
    for price in (9000, 8000, 7000, 6000):
        factories.campaign(price_cents=price)
    captured = factories.lead(factories.magnet(max_buyers=1))
    detail = login_as(factories.admin_user()).get(f"/admin/leads/{captured.lead_id}")
    assert "3 other campaigns of the sector were ranked below" in detail.get_data(as_text=True)
