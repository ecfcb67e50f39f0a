"""The buyer portal: inbox, one purchase with its contact, campaigns."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from billing.ledger import balances
from buyers import purchases
from buyers.forms import CampaignForm
from marketplace import campaigns
from marketplace.auth.decorators import buyer_required
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import show_field_errors
from marketplace.models import Campaign
from marketplace.sectors import sector_options

blueprint = Blueprint("buyers", __name__)


@blueprint.route("/")
@buyer_required
def inbox():
    organization_id = current_user.organization_id
    return render_template(
        "buyers/inbox.html",
        sales=purchases.inbox(organization_id),
        balances=balances(organization_id),
    )


@blueprint.route("/purchases/<int:sale_id>")
@buyer_required
def purchase(sale_id: int):
    sale = purchases.open_purchase(current_user.organization_id, sale_id, current_user.id)
    return render_template("buyers/purchase.html", sale=sale, lead=sale.lead)


@blueprint.route("/campaigns")
@buyer_required
def campaign_list():
    rows = db.session.scalars(
        select(Campaign)
        .where(Campaign.buyer_id == current_user.organization_id)
        .options(selectinload(Campaign.sectors))
        .order_by(Campaign.created_at.desc())
    )
    return render_template("buyers/campaigns.html", campaigns=list(rows))


def _cents(amount) -> int | None:
    return None if amount is None else int((amount * 100).to_integral_value())


@blueprint.route("/campaigns/new", methods=["GET", "POST"])
@buyer_required
def new_campaign():
    form = CampaignForm()
    form.sector_ids.choices = sector_options()
    if form.validate_on_submit():
        try:
            campaigns.create_campaign(
                current_user.organization_id,
                name=form.name.data,
                sector_ids=form.sector_ids.data,
                price_cents=_cents(form.price.data),
                daily_cap=form.daily_cap.data,
                monthly_cap=form.monthly_cap.data,
                monthly_budget_cents=_cents(form.monthly_budget.data),
            )
        except ValidationFailed as error:
            show_field_errors(form, error)
        else:
            flash(_("Your campaign is active: matching leads will reach your inbox."), "success")
            return redirect(url_for("buyers.campaign_list"))
    return render_template("buyers/campaign_form.html", form=form)
