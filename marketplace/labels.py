"""The words the portals and forms show for the domain's coded values."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from marketplace.models import BillingStatus, DisputeReason, MagnetKind, Temperature
from marketplace.models.sales import LOST_REASONS, OUTCOME_STEPS, RATING_REASONS
from marketplace.validation import BUDGETS, COMPANY_SIZES, COUNTRIES, HOUSINGS, TIMEFRAMES

KIND_LABELS = {
    MagnetKind.QUOTE_REQUEST: _l("Quote request"),
    MagnetKind.WHITEPAPER: _l("Whitepaper or buying guide"),
    MagnetKind.NEWSLETTER: _l("Newsletter sign-up"),
    MagnetKind.DEMO_REQUEST: _l("Demo request"),
    MagnetKind.CALLBACK_REQUEST: _l("Call-back request"),
    MagnetKind.WEBINAR: _l("Webinar registration"),
}
COMPANY_SIZE_LABELS = dict(
    zip(
        COMPANY_SIZES,
        [
            _l("Just me"),
            _l("2 to 9"),
            _l("10 to 49"),
            _l("50 to 249"),
            _l("250 to 999"),
            _l("1,000 or more"),
        ],
        strict=True,
    )
)
BUDGET_LABELS = dict(
    zip(
        BUDGETS,
        [
            _l("Under 1,000 EUR"),
            _l("1,000 to 5,000 EUR"),
            _l("5,000 to 20,000 EUR"),
            _l("20,000 to 100,000 EUR"),
            _l("Over 100,000 EUR"),
        ],
        strict=True,
    )
)
TIMEFRAME_LABELS = dict(
    zip(
        TIMEFRAMES,
        [
            _l("As soon as possible"),
            _l("Within 3 months"),
            _l("Within 6 months"),
            _l("Later, just looking"),
        ],
        strict=True,
    )
)
HOUSING_LABELS = dict(
    zip(
        HOUSINGS,
        [
            _l("I own the home"),
            _l("I rent it"),
            _l("Other (the building's manager, a relative's home...)"),
        ],
        strict=True,
    )
)
# The same answers as the buyers and admins read them, about the person.
HOUSING_WORDS = dict(
    zip(
        HOUSINGS,
        [
            _l("owner"),
            _l("tenant"),
            _l("neither owner nor tenant"),
        ],
        strict=True,
    )
)


def country_choices() -> list[tuple[str, str]]:
    """The countries the forms offer, named in the current language."""
    names = get_locale().territories
    return sorted(((code, names.get(code, code)) for code in COUNTRIES), key=lambda c: c[1])


DISPUTE_REASON_LABELS = {
    DisputeReason.INVALID_CONTACT.value: _l("Invalid contact details"),
    DisputeReason.DUPLICATE.value: _l("Duplicate of a lead we already had"),
    DisputeReason.OUT_OF_TARGET.value: _l("Out of our target"),
    DisputeReason.NO_CONSENT.value: _l("The person never asked to be contacted"),
    DisputeReason.FAKE.value: _l("Fake or test submission"),
    DisputeReason.OTHER.value: _l("Other (say why)"),
}


# What the portal tells a buyer whose campaigns are held by its billing standing.
HELD_BECAUSE = {
    BillingStatus.NO_PAYMENT_METHOD: _l(
        "Your campaigns receive no leads until a payment method is set up for your company."
    ),
    BillingStatus.PAYMENT_FAILED: _l(
        "Your campaigns receive no leads: your last payment failed. "
        "They resume as soon as a payment succeeds."
    ),
    BillingStatus.SUSPENDED: _l(
        "Your campaigns receive no leads: your account is suspended. Please contact us."
    ),
}


RATING_REASON_LABELS = dict(
    zip(
        RATING_REASONS,
        [
            _l("Reachable"),
            _l("A real need"),
            _l("The right budget"),
            _l("Wrong number"),
            _l("Not the decision maker"),
            _l("Already equipped"),
            _l("Fake or test"),
        ],
        strict=True,
    )
)
OUTCOME_LABELS = dict(
    zip(
        OUTCOME_STEPS,
        [_l("New"), _l("Contacted"), _l("Meeting"), _l("Won"), _l("Lost")],
        strict=True,
    )
)
LOST_REASON_LABELS = dict(
    zip(
        LOST_REASONS,
        [
            _l("Could not reach them"),
            _l("No real need"),
            _l("No budget"),
            _l("Went to a competitor"),
            _l("Not the right time"),
            _l("Other"),
        ],
        strict=True,
    )
)

TEMPERATURE_LABELS = {
    Temperature.COLD.value: _l("Cold"),
    Temperature.WARM.value: _l("Warm"),
    Temperature.HOT.value: _l("Hot"),
}
DELIVERY_STATUS_LABELS = {
    "delivered": _l("Delivered"),
    "failed": _l("Failed"),
    "pending": _l("Pending"),
}

LEAD_STATUS_LABELS = {
    "pending": _l("Waiting for distribution"),
    "distributed": _l("Sold"),
    "unsold": _l("Unsold"),
    "duplicate": _l("Duplicate"),
    "rejected": _l("Rejected"),
    "erased": _l("Erased"),
}
DISPUTE_STATUS_LABELS = {
    "open": _l("Waiting for a decision"),
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
}
BILLING_STATUS_LABELS = {
    "good": _l("In good standing"),
    "no_payment_method": _l("No payment method"),
    "payment_failed": _l("Payment failed"),
    "over_credit_limit": _l("Over its credit limit"),
    "suspended": _l("Suspended"),
}
DELIVERY_CHANNEL_LABELS = {"email": _l("E-mail"), "webhook": _l("Webhook")}


# Stripe's invoice statuses, and ours before Stripe has one ("creating").
INVOICE_STATUS_LABELS = {
    "creating": _l("being prepared"),
    "draft": _l("draft"),
    "open": _l("to pay"),
    "paid": _l("paid"),
    "void": _l("cancelled"),
    "uncollectible": _l("uncollectible"),
}

# What distribution decided for each campaign of a lead's sector (the decision log).
VERDICT_LABELS = {
    "sold": _l("sold"),
    "sold_exclusive": _l("sold exclusively"),
    "eligible": _l("eligible"),
    "same_buyer_ranked_higher": _l("the same buyer had a better-placed campaign"),
    "no_place_left": _l("no place left"),
    "campaign_paused_or_buyer_held_meanwhile": _l("paused, or buyer held, during the sale"),
    "closed_now": _l("outside its opening hours"),
    "daily_cap_reached": _l("daily cap reached"),
    "monthly_cap_reached": _l("monthly cap reached"),
    "monthly_budget_reached": _l("monthly budget reached"),
    "buyer_billing_standing": _l("buyer held by billing"),
    "not_in_consent_partner_list": _l("buyer not in the partner list the person agreed to"),
    "buyer_already_has_this_person": _l("buyer already has this person"),
    "buyer_returned_earlier_lead": _l("buyer returned this person's earlier lead"),
    "no_campaign_for_sector": _l("no campaign covers its sector"),
    "filter_country": _l("another country"),
    "filter_department": _l("another department"),
    "filter_postcode": _l("another postcode"),
    "filter_company_size": _l("another company size"),
    "filter_magnet_kind": _l("another kind of lead"),
    "filter_min_score": _l("score below the campaign's minimum"),
    "filter_source_quality": _l("source quality below the campaign's minimum"),
    "price_below_sector_floor": _l("price below the sector's floor"),
}

PRIVACY_STATUS_LABELS = {
    "unverified": _l("waiting for your confirmation"),
    "open": _l("being handled"),
    "completed": _l("answered"),
    "refused": _l("refused"),
}

PRIVACY_EVENT_LABELS = {
    "submitted": _l("asked"),
    "confirmed": _l("confirmed by the person"),
    "more_asked": _l("more information asked"),
    "completed": _l("answered"),
    "refused": _l("refused"),
}

PRIVACY_KIND_LABELS = {
    "access": _l("access"),
    "rectification": _l("rectification"),
    "erasure": _l("erasure"),
    "objection": _l("objection"),
}

USER_ROLE_LABELS = {
    "owner": _l("Owner"),
    "member": _l("Member"),
}


# A lead's class, from its score and its sector's scoring model.
QUALIFICATION_LABELS = {
    "mql": _l("marketing-qualified (MQL)"),
    "sql": _l("sales-qualified (SQL)"),
}

# The rule that accepted a dispute by itself (disputes.decided_by_rule), as the buyer
# and the admins read it after "accepted automatically: ".
DECIDING_RULE_LABELS = {
    "duplicate_found_later": _l(
        "a duplicate found later: the same person had already been sold to you in this "
        "sector shortly before"
    ),
    "suppressed_person": _l(
        "a suppressed person: the person objected to being contacted or asked to be erased"
    ),
    "erased_contact": _l("an erased contact: the person's data was erased at their request"),
    "bounced_email": _l(
        "a bounced e-mail: a mail server refused for good our mail to this address"
    ),
    "return_cap": _l("within your return cap for the month"),
}
# The rules an admin turns on and off (return_rules.key).
RETURN_RULE_LABELS = {
    "platform_flagged": _l("Accept the leads the platform flagged"),
    "return_cap": _l("Accept within the buyer's return cap"),
}
# Where a lead is in its life, beside its status (docs/matching.md, docs/capture.md).
LIFECYCLE_LABELS = {
    "disqualified": _l("Disqualified"),
    "recycled": _l("Recycled"),
}

# Why no campaign at all could take a lead, in the publisher's words: said of the
# buyers as a whole, never naming one.
DISQUALIFIED_FOR_LABELS = {
    "no_campaign_for_sector": _l("no buyer buys leads of this sector at the moment"),
    "price_below_sector_floor": _l("no buyer pays the sector's floor price"),
    "not_in_consent_partner_list": _l("the person agreed to no partner that buys such leads"),
    "filter_country": _l("no buyer takes leads from this country"),
    "filter_department": _l("no buyer covers this area"),
    "filter_postcode": _l("no buyer covers this area"),
    "filter_company_size": _l("no buyer wants this company size"),
    "filter_magnet_kind": _l("no buyer wants this kind of lead"),
    "filter_min_score": _l("its score is below every buyer's minimum"),
}

# Why a lead was kept unsold for its publisher's standing.
HELD_FOR_LABELS = {
    "publisher_awaiting_approval": _l("kept until your account is approved"),
    "publisher_suspended": _l("kept: your account is suspended"),
}

# The audit trail's actions, as the console shows them.
AUDIT_ACTION_LABELS = {
    "admin.login": _l("admin signed in"),
    "lead.contact_viewed": _l("contact details viewed"),
    "lead.contact_exported": _l("contact details exported"),
    "lead.contacts_exported": _l("leads exported"),
    "dispute.opened": _l("dispute opened"),
    "dispute.accepted": _l("dispute accepted"),
    "dispute.rejected": _l("dispute rejected"),
    "returns.rules_changed": _l("return rules changed"),
    "organization.approved": _l("organization approved"),
    "organization.suspended": _l("organization suspended"),
    "organization.reinstated": _l("organization reinstated"),
    "organization.revenue_share_changed": _l("revenue share changed"),
    "organization.settings_changed": _l("organization's settings changed"),
    "sector.changed": _l("sector changed"),
    "scoring.changed": _l("scoring model changed"),
    "quality.settings_changed": _l("source quality settings changed"),
    "scoring.sector_model_added": _l("sector given its own scoring model"),
    "sector.added": _l("sector added"),
    "team.member_invited": _l("colleague invited"),
    "team.invitation_accepted": _l("invitation accepted"),
    "team.invitation_revoked": _l("invitation withdrawn"),
    "team.role_changed": _l("role changed"),
    "team.member_removed": _l("person removed"),
    "privacy.request_submitted": _l("privacy request sent"),
    "privacy.request_confirmed": _l("privacy request confirmed"),
    "privacy.request_viewed": _l("privacy request opened"),
    "privacy.more_information_asked": _l("more information asked"),
    "privacy.request_refused": _l("privacy request refused"),
    "privacy.access_completed": _l("access request answered"),
    "privacy.rectification_completed": _l("data corrected"),
    "privacy.erasure_completed": _l("person's data erased"),
    "privacy.objection_completed": _l("objection recorded"),
    "privacy.retention_blanked": _l("old leads blanked (retention)"),
    "billing.credit_limit_set": _l("credit limit set"),
    "billing.connected_account_set": _l("payout account set"),
    "billing.payout_recorded": _l("payout recorded"),
    "billing.payout_transferred": _l("payout transferred"),
    "billing.reconciled": _l("billing reconciled with Stripe"),
}


def words() -> dict:
    """Every coded value's words, by kind, for the templates: ``words.lead_status[...]``."""
    return {
        "lead_status": LEAD_STATUS_LABELS,
        "temperature": TEMPERATURE_LABELS,
        "dispute_status": DISPUTE_STATUS_LABELS,
        "billing_status": BILLING_STATUS_LABELS,
        "delivery_status": DELIVERY_STATUS_LABELS,
        "delivery_channel": DELIVERY_CHANNEL_LABELS,
        "outcome": OUTCOME_LABELS,
        "user_role": USER_ROLE_LABELS,
        "invoice_status": INVOICE_STATUS_LABELS,
        "verdict": VERDICT_LABELS,
        "privacy_status": PRIVACY_STATUS_LABELS,
        "privacy_event": PRIVACY_EVENT_LABELS,
        "privacy_kind": PRIVACY_KIND_LABELS,
        "kind": KIND_LABELS,
        "budget": BUDGET_LABELS,
        "timeframe": TIMEFRAME_LABELS,
        "housing": HOUSING_WORDS,
        "audit_action": AUDIT_ACTION_LABELS,
        "held_for": HELD_FOR_LABELS,
        "deciding_rule": DECIDING_RULE_LABELS,
        "return_rule": RETURN_RULE_LABELS,
        "lifecycle": LIFECYCLE_LABELS,
        "disqualified_for": DISQUALIFIED_FOR_LABELS,
    }


JOB_LEVEL_LABELS = {
    "other": _l("other roles"),
    "manager": _l("manager"),
    "director": _l("director or head of a department"),
    "executive": _l("executive (C-level, founder, managing director)"),
}
EARLIER_VISITS_LABELS = {
    "1": _l("one earlier visit"),
    "2": _l("two earlier visits"),
    "3_plus": _l("three earlier visits or more"),
}

SCORE_FACT_LABELS = {
    "phone_given": _l("phone given"),
    "company_given": _l("company given"),
    "location_given": _l("location given"),
    "detailed_message": _l("a detailed message"),
}


def fact_words(fact: str) -> str:
    """A scoring fact in words: "Quote request", "phone given", "budget: 5,000 to
    20,000 EUR"..."""
    reason, _, value = fact.partition(":")
    if reason == "intent":
        words = KIND_LABELS.get(value) or value
    elif reason == "company_size":
        words = _l("company size: %(size)s", size=COMPANY_SIZE_LABELS.get(value, value))
    elif reason == "budget":
        words = _l("budget: %(budget)s", budget=BUDGET_LABELS.get(value, value))
    elif reason == "timeframe":
        words = _l("timeframe: %(when)s", when=TIMEFRAME_LABELS.get(value, value))
    elif reason == "housing":
        words = _l("home: %(housing)s", housing=HOUSING_WORDS.get(value, value))
    elif reason == "job_level":
        words = _l("job level: %(level)s", level=JOB_LEVEL_LABELS.get(value, value))
    elif reason == "earlier_visits":
        words = EARLIER_VISITS_LABELS.get(value, value)
    else:
        words = SCORE_FACT_LABELS.get(reason, reason)
    return str(words)


def score_breakdown(explanation: list[dict] | None) -> list[tuple[str, int]]:
    """A score's parts in words, with their points: ("Quote request", 40), ("phone
    given", 10), ("budget: 5,000 to 20,000 EUR", 15)..."""
    return [
        (fact_words(str(part.get("reason", ""))), int(part.get("points", 0)))
        for part in explanation or []
    ]
