"""The buyer portal: the inbox, campaigns, the catalogue, API keys."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from buyers.blueprint import blueprint
from buyers.forms import CampaignForm
from marketplace import campaigns, delivery, lead_catalogue
from marketplace.api_key_pages import api_key_page, revoke_api_key_and_return
from marketplace.auth.decorators import buyer_required, owner_required_to_change
from marketplace.errors import NotAllowed, ValidationFailed
from marketplace.extensions import db
from marketplace.forms import show_field_errors
from marketplace.i18n import money
from marketplace.labels import (
    COMPANY_SIZE_LABELS,
    HELD_BECAUSE,
    KIND_LABELS,
    country_choices,
)
from marketplace.models import Campaign, CampaignStatus, Organization, utcnow
from marketplace.sectors import sector_options

# The catalogue's filters by the names the page shows them under.
FILTER_NAMES = {
    "sector": _l("Sector"),
    "company_size": _l("Company size"),
    "kind": _l("Kind"),
    "min_score": _l("Score ≥"),
    "sort": _l("Sort"),
}


@blueprint.route("/campaigns/<int:campaign_id>/test-webhook", methods=["POST"])
@buyer_required
def test_webhook(campaign_id: int):
    result = delivery.test_webhook(current_user.organization_id, campaign_id)
    if result.ok:
        flash(
            _(
                "Your endpoint answered %(code)d in %(ms)d ms.",
                code=result.status_code,
                ms=result.duration_ms,
            ),
            "success",
        )
    else:
        flash(_("The test failed: %(why)s", why=result.error or result.status_code), "danger")
    return redirect(url_for("buyers.campaign", campaign_id=campaign_id))


@blueprint.route("/campaigns")
@buyer_required
def campaign_list():
    rows = db.session.scalars(
        select(Campaign)
        .where(Campaign.buyer_id == current_user.organization_id)
        .options(selectinload(Campaign.sectors))
        .order_by(Campaign.status, Campaign.created_at.desc())
    )
    buyer = db.session.get(Organization, current_user.organization_id)
    return render_template(
        "buyers/campaigns.html",
        campaigns=list(rows),
        held_because=HELD_BECAUSE.get(buyer.billing_status),
        may_set_prices=current_user.is_owner,
    )


# The use case's settings that the form spreads over other fields.
CAMPAIGN_FIELD_ALIASES = {
    "opening_hours": "open_from",
    "price_cents": "price",
    "exclusive_price_cents": "exclusive_price",
    "monthly_budget_cents": "monthly_budget",
}


def _campaign_form(campaign=None) -> CampaignForm:
    form = CampaignForm()
    form.sector_ids.choices = sector_options()
    form.countries.choices = country_choices()
    form.company_sizes.choices = list(COMPANY_SIZE_LABELS.items())
    form.magnet_kinds.choices = [(kind.value, label) for kind, label in KIND_LABELS.items()]
    form.departments.choices = [
        (code, f"{code} {name}")
        for _region, departments in campaigns.DEPARTMENT_REGIONS
        for code, name in departments
    ]
    if campaign is not None and request.method == "GET":
        form.show(campaign)
    return form


def _show_use_case_errors(form: CampaignForm, error: ValidationFailed) -> None:
    """The use case's field errors beside the form's own, one message per field: where
    the form already refused a value (no number, say) its message is the one to read."""
    fresh = {}
    for name, message in error.fields.items():
        field = form._fields.get(CAMPAIGN_FIELD_ALIASES.get(name, name))
        if field is None or not field.errors:
            fresh[name] = message
    show_field_errors(form, ValidationFailed(error.message, fields=fresh), CAMPAIGN_FIELD_ALIASES)


def _save_campaign(form: CampaignForm, campaign_id: int | None):
    """Check, then preview or save the form; None when the page is to be shown again.

    The use case checks the settings even when the form's own checks failed, so that
    every error is named after one submit, each at its field.
    """
    form_ok = form.validate()
    settings = form.settings()
    may_set_prices = current_user.is_owner
    try:
        if not form_ok or form.preview.data:
            draft = campaigns.draft_campaign(
                current_user.organization_id,
                campaign_id,
                may_set_prices=may_set_prices,
                **settings,
            )
            if form_ok:
                count, cost = campaigns.recent_matches(draft)
                flash(
                    _(
                        "In the last 30 days this campaign would have matched %(count)d "
                        "leads, for %(cost)s.",
                        count=count,
                        cost=money(cost, draft.currency),
                    ),
                    "info",
                )
            return None
        if campaign_id is None:
            campaign = campaigns.create_campaign(
                current_user.organization_id, may_set_prices=may_set_prices, **settings
            )
        else:
            campaign = campaigns.update_campaign(
                current_user.organization_id,
                campaign_id,
                may_set_prices=may_set_prices,
                **settings,
            )
    except ValidationFailed as error:
        _show_use_case_errors(form, error)
        return None
    flash(_("Your campaign is saved."), "success")
    return redirect(url_for("buyers.campaign", campaign_id=campaign.id))


def _campaign_page(form: CampaignForm, campaign=None, matched=None):
    return render_template(
        "buyers/campaign_form.html",
        form=form,
        campaign=campaign,
        matched=matched,
        may_set_prices=current_user.is_owner,
        sector_groups=campaigns.sector_menu(str(get_locale() or "fr")),
        department_regions=campaigns.DEPARTMENT_REGIONS,
    )


@blueprint.route("/campaigns/new", methods=["GET", "POST"])
@buyer_required
def new_campaign():
    if not current_user.is_owner:
        # A new campaign sets prices: only an owner creates one (marketplace.campaigns).
        raise NotAllowed(campaigns.OWNERS_CREATE)
    form = _campaign_form()
    if form.is_submitted():
        done = _save_campaign(form, None)
        if done is not None:
            return done
    return _campaign_page(form)


@blueprint.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@buyer_required
def campaign(campaign_id: int):
    own = campaigns.own_campaign(current_user.organization_id, campaign_id)
    form = _campaign_form(own)
    if form.is_submitted():
        done = _save_campaign(form, campaign_id)
        if done is not None:
            return done
    return _campaign_page(form, own, matched=campaigns.recent_matches(own))


@blueprint.route("/campaigns/<int:campaign_id>/status", methods=["POST"])
@buyer_required
def campaign_status(campaign_id: int):
    wanted = request.form.get("status")
    if wanted not in (CampaignStatus.ACTIVE.value, CampaignStatus.PAUSED.value):
        abort(400)
    campaigns.set_status(current_user.organization_id, campaign_id, CampaignStatus(wanted))
    if wanted == CampaignStatus.PAUSED.value:
        flash(_("The campaign is paused: it receives no lead until you resume it."), "info")
    else:
        flash(_("The campaign is active again."), "success")
    return redirect(url_for("buyers.campaign_list"))


@blueprint.route("/campaigns/<int:campaign_id>/webhook-secret", methods=["POST"])
@buyer_required
def webhook_secret(campaign_id: int):
    campaigns.new_webhook_secret(current_user.organization_id, campaign_id)
    flash(_("A new webhook secret is set: update your endpoint."), "success")
    return redirect(url_for("buyers.campaign", campaign_id=campaign_id))


@blueprint.route("/catalogue")
@buyer_required
def catalogue():
    """Leads still on sale to this buyer, without personal data, with filters."""
    args = request.args
    sector_id = args.get("sector", type=int)
    min_score = args.get("min_score", type=int)
    sort = args.get("sort") or "newest"
    status = 200
    try:
        offers = lead_catalogue.offers_for(
            current_user.organization_id,
            sector_id=sector_id,
            department=(args.get("department") or "").strip().upper()[:3] or None,
            company_size=args.get("company_size") or None,
            magnet_kind=args.get("kind") or None,
            min_score=min_score,
            sort=sort,
        )
    except ValidationFailed as invalid:
        # A hand-edited address: say which filter is wrong, show no list meanwhile.
        for name, message in invalid.fields.items():
            flash(f"{FILTER_NAMES.get(name, name)}: {message}", "danger")
        offers, status = [], 422
    return render_template(
        "buyers/catalogue.html",
        offers=offers,
        now=utcnow(),
        sectors=sector_options(),
        sizes=COMPANY_SIZE_LABELS,
        kinds=KIND_LABELS,
        chosen={"sector": sector_id, "min_score": min_score, "sort": sort, **args},
    ), status


@blueprint.route("/catalogue/<int:lead_id>/buy", methods=["POST"])
@buyer_required
def buy(lead_id: int):
    try:
        sale = lead_catalogue.buy(current_user.organization_id, lead_id)
    except lead_catalogue.NotForSale as refused:
        flash(refused.message, "warning")
        return redirect(url_for("buyers.catalogue"))
    flash(_("The lead is yours."), "success")
    return redirect(url_for("buyers.purchase", sale_id=sale.id))


@blueprint.route("/api-keys", methods=["GET", "POST"])
@buyer_required
@owner_required_to_change
def keys():
    return api_key_page(current_user.organization_id, "buyers.revoke_key")


@blueprint.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
@buyer_required
@owner_required_to_change
def revoke_key(key_id: int):
    return revoke_api_key_and_return(current_user.organization_id, key_id, "buyers.keys")
