"""Buyer portal forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Form,
    HiddenField,
    IntegerField,
    RadioField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.forms import FiniteDecimalField, SaneDate
from marketplace.models import MagnetKind

TIMEZONES = (
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Luxembourg",
    "Europe/Zurich",
    "Europe/Monaco",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Madrid",
    "Europe/Lisbon",
    "Europe/Berlin",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Vienna",
    "America/Guadeloupe",
    "America/Martinique",
    "America/Cayenne",
    "Indian/Reunion",
    "Indian/Mayotte",
    "UTC",
)
DAY_LABELS = [
    ("mon", _l("Monday")),
    ("tue", _l("Tuesday")),
    ("wed", _l("Wednesday")),
    ("thu", _l("Thursday")),
    ("fri", _l("Friday")),
    ("sat", _l("Saturday")),
    ("sun", _l("Sunday")),
]
HOUR = Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", message=_l("Write the time as HH:MM, like 09:00."))


def comma_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").replace(";", ",").split(",") if part.strip()]


class CheckboxesField(SelectMultipleField):
    """Several choices ticked in a list of checkboxes (the campaign editor groups them):
    every option stays readable and a ticked one stays in sight, unlike a list box."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DepartmentsField(CheckboxesField):
    """French departments ticked by region, or typed "69, 2A" (each value may hold
    several); the use case names an unknown one, in words."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, validate_choice=False, **kwargs)

    def process_formdata(self, valuelist):
        self.data = [code.upper() for value in valuelist for code in comma_list(value)]


class CampaignForm(FlaskForm):
    # In the order the page shows them, so the error summary reads in that order too.
    name = StringField(_l("Campaign name"), validators=[DataRequired(), Length(max=120)])
    sector_ids = CheckboxesField(
        _l("Sectors"), coerce=int, validators=[DataRequired(_l("Choose at least one sector."))]
    )
    price = FiniteDecimalField(
        _l("Price per lead (EUR)"),
        places=2,
        # InputRequired, not DataRequired: a typed value that is no number keeps its
        # own message ("Not a valid decimal value.") instead of "required".
        validators=[InputRequired(), NumberRange(min=1, max=10_000)],
    )
    monthly_budget = FiniteDecimalField(
        _l("Monthly budget (EUR)"),
        places=2,
        validators=[Optional(), NumberRange(min=1, max=10_000_000)],
    )
    wants_exclusive = BooleanField(_l("I also want exclusive leads (sold to me alone)"))
    exclusive_price = FiniteDecimalField(
        _l("Price per exclusive lead (EUR)"),
        places=2,
        validators=[Optional(), NumberRange(min=1, max=50_000)],
    )
    magnet_kinds = CheckboxesField(_l("Kinds of request (none: all)"), validators=[Optional()])
    company_sizes = CheckboxesField(_l("Company sizes (none: all)"), validators=[Optional()])
    min_score = IntegerField(
        _l("Minimum score (0-100)"), default=0, validators=[Optional(), NumberRange(0, 100)]
    )
    min_source_quality = IntegerField(
        _l("Minimum source quality (0-100)"),
        default=0,
        validators=[Optional(), NumberRange(0, 100)],
    )
    countries = CheckboxesField(_l("Countries (none: all)"), validators=[Optional()])
    departments = DepartmentsField(_l("French departments (none: all)"), validators=[Optional()])
    postcode_prefixes = StringField(
        _l("Postcodes starting with, comma separated (empty: all)"),
        validators=[Optional(), Length(max=1000)],
        render_kw={"placeholder": "750, 92"},
    )
    daily_cap = IntegerField(
        _l("Daily cap (leads)"), validators=[Optional(), NumberRange(min=1, max=100_000)]
    )
    monthly_cap = IntegerField(
        _l("Monthly cap (leads)"), validators=[Optional(), NumberRange(min=1, max=1_000_000)]
    )
    open_days = CheckboxesField(
        _l("Open on (none: every day, at any hour)"), choices=DAY_LABELS, validators=[Optional()]
    )
    open_from = StringField(_l("From"), default="09:00", validators=[Optional(), HOUR])
    open_until = StringField(_l("Until"), default="18:00", validators=[Optional(), HOUR])
    timezone = SelectField(
        _l("Timezone"), choices=[(zone, zone) for zone in TIMEZONES], default="Europe/Paris"
    )
    email_recipients = StringField(
        _l("Also send each lead by e-mail to (comma separated, optional)"),
        validators=[Optional(), Length(max=1000)],
    )
    webhook_url = StringField(
        _l("And post it to this webhook (https://, optional)"),
        validators=[Optional(), Length(max=500)],
    )
    preview = SubmitField(_l("See what it would have matched"))
    submit = SubmitField(_l("Save the campaign"))

    def settings(self) -> dict:
        """The campaign use case's settings from the form."""
        days = self.open_days.data or []
        hours = {day: [[self.open_from.data, self.open_until.data]] for day in days}
        return {
            "name": self.name.data,
            "sector_ids": self.sector_ids.data,
            "price_cents": cents(self.price.data),
            "wants_exclusive": bool(self.wants_exclusive.data),
            "exclusive_price_cents": cents(self.exclusive_price.data),
            "countries": self.countries.data or [],
            "departments": self.departments.data or [],
            "postcode_prefixes": comma_list(self.postcode_prefixes.data),
            "company_sizes": self.company_sizes.data or [],
            "magnet_kinds": self.magnet_kinds.data or [],
            "min_score": self.min_score.data or 0,
            "min_source_quality": self.min_source_quality.data or 0,
            "daily_cap": self.daily_cap.data,
            "monthly_cap": self.monthly_cap.data,
            "monthly_budget_cents": cents(self.monthly_budget.data),
            "opening_hours": hours,
            "timezone": self.timezone.data,
            "email_recipients": comma_list(self.email_recipients.data),
            "webhook_url": self.webhook_url.data,
        }

    def show(self, campaign) -> None:
        """Fill the form from a campaign, for editing."""
        self.name.data = campaign.name
        self.sector_ids.data = [sector.id for sector in campaign.sectors]
        self.price.data = campaign.price_cents / 100
        self.wants_exclusive.data = campaign.wants_exclusive
        if campaign.exclusive_price_cents:
            self.exclusive_price.data = campaign.exclusive_price_cents / 100
        self.countries.data = campaign.countries
        self.departments.data = list(campaign.departments)
        self.postcode_prefixes.data = ", ".join(campaign.postcode_prefixes)
        self.company_sizes.data = campaign.company_sizes
        self.magnet_kinds.data = campaign.magnet_kinds
        self.min_score.data = campaign.min_score
        self.min_source_quality.data = campaign.min_source_quality
        self.daily_cap.data = campaign.daily_cap
        self.monthly_cap.data = campaign.monthly_cap
        if campaign.monthly_budget_cents:
            self.monthly_budget.data = campaign.monthly_budget_cents / 100
        self.open_days.data = list(campaign.opening_hours)
        first = next(iter(campaign.opening_hours.values()), None)
        if first:
            self.open_from.data, self.open_until.data = first[0]
        self.timezone.data = campaign.timezone
        self.email_recipients.data = ", ".join(campaign.email_recipients)
        self.webhook_url.data = campaign.webhook_url


def cents(amount) -> int | None:
    return None if amount is None else int((amount * 100).to_integral_value())


KIND_CHOICES = [(kind.value, kind.value) for kind in MagnetKind]


class BillingDetailsForm(FlaskForm):
    """A buyer's billing details; the service validates them (billing/customers.py)."""

    company_name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    email = StringField(_l("Billing e-mail"), validators=[DataRequired(), Length(max=254)])
    line1 = StringField(_l("Address"), validators=[DataRequired(), Length(max=200)])
    postal_code = StringField(_l("Postcode"), validators=[DataRequired(), Length(max=10)])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=100)])
    country = SelectField(_l("Country"), default="FR")
    vat_number = StringField(
        _l("VAT number"),
        validators=[Optional(), Length(max=20)],
        description=_l("An EU VAT number outside France means no French VAT (reverse charge)."),
    )
    submit = SubmitField(_l("Save billing details"))


class DisputeForm(FlaskForm):
    reason = SelectField(_l("Reason"))
    comment = StringField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Dispute this lead"))


class RatingForm(FlaskForm):
    """1 to 5 stars (each star a button: one click from the inbox), reasons, a comment."""

    stars = RadioField(
        _l("Rating"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        validators=[InputRequired(_l("Give 1 to 5 stars."))],
    )
    reasons = SelectMultipleField(
        _l("Why"),
        validators=[Optional()],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
    # Named apart from the dispute form's fields, which share the page (one id each).
    rating_comment = TextAreaField(
        _l("Note on this lead"), validators=[Optional(), Length(max=2000)]
    )
    # From the inbox: only the stars change, the reasons and the comment stay.
    quick = HiddenField()
    save_rating = SubmitField(_l("Save the rating"))


class OutcomeForm(FlaskForm):
    status = SelectField(_l("Where the deal stands"))
    amount = FiniteDecimalField(
        _l("Amount of the deal (EUR)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=21_474_836)],
    )
    lost_reason = SelectField(_l("Why it was lost"), validators=[Optional()])
    save_outcome = SubmitField(_l("Save"))


class InboxFilterForm(Form):
    """The inbox's filters, read from the address (a view can be bookmarked): a plain
    form, no CSRF token, since a GET changes nothing."""

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=100)])
    date_from = DateField(_l("Bought from"), validators=[Optional(), SaneDate()])
    date_to = DateField(_l("until"), validators=[Optional(), SaneDate()])
    sector = SelectField(_l("Sector"), validators=[Optional()])
    campaign = SelectField(_l("Campaign"), validators=[Optional()])
    temperature = SelectField(_l("Temperature"), validators=[Optional()])
    score_min = IntegerField(_l("Score from"), validators=[Optional(), NumberRange(0, 100)])
    score_max = IntegerField(_l("Score up to"), validators=[Optional(), NumberRange(0, 100)])
    rating = SelectField(_l("Rating"), validators=[Optional()])
    outcome = SelectField(_l("Deal"), validators=[Optional()])
    disputed = SelectField(_l("Disputed"), validators=[Optional()])
    delivery = SelectField(_l("Delivery"), validators=[Optional()])
    cursor = HiddenField()
