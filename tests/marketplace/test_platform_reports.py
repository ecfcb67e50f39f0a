"""The admins' platform report: per sector, publisher, magnet kind and acquisition
channel, figures computed here by hand from a known set of leads and sales; rates that
never pass 100 %; days in the admin's timezone; a CSV file equal to the page's table;
bad input said at its field; closed to every other role."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from sqlalchemy import event, select

from marketplace import disputes
from marketplace.extensions import db
from marketplace.governance.overview import Period
from marketplace.models import Lead, MagnetKind, Sale
from marketplace.platform_reports.report import Dimension, report
from marketplace.quality.verdicts import record_outcome
from marketplace.reporting import utm_medium, utm_source, week_starts
from tests import factories

PARIS = ZoneInfo("Europe/Paris")
# Monday 23 to Tuesday 31 March 2026; summer time starts in Paris on Sunday 29 at 02:00.
FIRST, LAST = date(2026, 3, 23), date(2026, 3, 31)
PERIOD = Period(FIRST, LAST)
QUERY = "from=2026-03-23&to=2026-03-31"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _sale(lead_id: int, buyer) -> Sale:
    return db.session.scalar(select(Sale).where(Sale.lead_id == lead_id, Sale.buyer_id == buyer.id))


@pytest.fixture
def known_set():
    return make_known_set()


def make_known_set() -> dict:
    """Two publishers, three magnets, three buyers, seven leads (two outside the period):

    - L1 software, google / cpc, Tue 24: sold to B1 (50 €) and B2 (70 €); B2's dispute
      accepted (a 70 € credit, P1's 35 € earning reversed);
    - L2 software, newsletter without a medium, Mon 30 at 00:30 in Paris (Sunday in
      UTC): sold to B1 (50 €, won) and B2 (70 €);
    - L3 printers, no UTM, Sat 28: sold to B3 (40 €), disputed, the dispute rejected;
    - L5 printers, no UTM, Tue 31 at 23:59 in Paris: sold to B3 (40 €);
    - L7 hardware (no campaign), medium "email" only, Thu 26: unsold;
    - L4 software, Sun 22 at 23:30 in Paris, and L6, Wed 1 April at 00:00 in Paris: sold
      (and L4 won) outside the period.

    P1 earns 50 % of its sales, P2 40 %."""
    p1 = factories.PublisherFactory(name="Alpha Media")  # 50 %
    p2 = factories.PublisherFactory(name="Beta Leads", revenue_share_bps=4000)
    software = factories.magnet(p1, kind=MagnetKind.QUOTE_REQUEST)
    printers = factories.magnet(
        p2, slug="office/printers", kind=MagnetKind.WHITEPAPER, title="The copier buying guide"
    )
    hardware = factories.magnet(
        p1, slug="it/hardware", kind=MagnetKind.WEBINAR, title="Servers for small offices"
    )
    b1, b2, b3 = (factories.BuyerFactory() for _ in range(3))
    factories.campaign(b1, price_cents=5000)
    factories.campaign(b2, price_cents=7000)
    factories.campaign(b3, slugs=("office/printers",), price_cents=4000)
    google = {"utm_source": "google", "utm_medium": "cpc"}

    def captured(magnet, moment, utm=None):
        return factories.lead(magnet, now=utc(moment), utm=utm).lead_id

    leads = {
        "L1": captured(software, "2026-03-24T09:00:00", google),
        "L2": captured(software, "2026-03-29T22:30:00", {"utm_source": "newsletter"}),
        "L3": captured(printers, "2026-03-28T11:00:00"),
        "L4": captured(software, "2026-03-22T22:30:00", google),
        "L5": captured(printers, "2026-03-31T21:59:00", {"utm_source": "  "}),
        "L6": captured(software, "2026-03-31T22:00:00", google),
        "L7": captured(hardware, "2026-03-26T14:00:00", {"utm_medium": "email"}),
    }
    admin = factories.admin_user()
    accepted = disputes.open_dispute(
        b2.id, _sale(leads["L1"], b2).id, "fake", "Fake.", now=utc("2026-03-25T09:00:00")
    )
    disputes.resolve_dispute(
        accepted.id, admin_user_id=admin.id, accept=True, now=utc("2026-03-26T09:00:00")
    )
    rejected = disputes.open_dispute(
        b3.id, _sale(leads["L3"], b3).id, "fake", "Fake?", now=utc("2026-03-29T09:00:00")
    )
    disputes.resolve_dispute(
        rejected.id,
        admin_user_id=admin.id,
        accept=False,
        note="The number answers.",
        now=utc("2026-03-30T09:00:00"),
    )
    for lead_id in (leads["L2"], leads["L4"]):
        record_outcome(b1.id, _sale(lead_id, b1).id, status="won", amount_cents=100_000)
    return {"admin": admin, "leads": leads, "p1": p1, "p2": p2}


# Per group: leads captured, leads sold, sales, revenue, credits, publishers' net
# earnings, margin, CPL (cents); disputed, accepted, won (sales).
SOFTWARE = (2, 2, 4, 24_000, 7_000, 8_500, 8_500, 6_000, 1, 1, 1)
PRINTERS = (2, 2, 2, 8_000, 0, 3_200, 4_800, 4_000, 1, 0, 0)
HARDWARE = (1, 0, 0, 0, 0, 0, 0, None, 0, 0, 0)
IT = (3, 2, 4, 24_000, 7_000, 8_500, 8_500, 6_000, 1, 1, 1)
GOOGLE_CPC = (1, 1, 2, 12_000, 7_000, 2_500, 2_500, 6_000, 1, 1, 0)
NEWSLETTER = (1, 1, 2, 12_000, 0, 6_000, 6_000, 6_000, 0, 0, 1)
EXPECTED = {
    Dimension.SECTOR: {
        "IT and telecoms > Software": SOFTWARE,
        "Office equipment > Copiers and printers": PRINTERS,
        "IT and telecoms > Hardware": HARDWARE,
    },
    Dimension.TOP_SECTOR: {"IT and telecoms": IT, "Office equipment": PRINTERS},
    Dimension.PUBLISHER: {"Alpha Media": IT, "Beta Leads": PRINTERS},
    Dimension.MAGNET_KIND: {
        "Quote request": SOFTWARE,
        "Whitepaper or buying guide": PRINTERS,
        "Webinar registration": HARDWARE,
    },
    Dimension.UTM_SOURCE: {
        "google": GOOGLE_CPC,
        "newsletter": NEWSLETTER,
        # L3, L5 (a blank source is none) and L7.
        "(none)": (3, 2, 2, 8_000, 0, 3_200, 4_800, 4_000, 1, 0, 0),
    },
    Dimension.UTM_MEDIUM: {
        "cpc": GOOGLE_CPC,
        # L2, L3, L5.
        "(none)": (3, 3, 4, 20_000, 0, 9_200, 10_800, 5_000, 1, 0, 1),
        "email": (1, 0, 0, 0, 0, 0, 0, None, 0, 0, 0),
    },
    Dimension.UTM_SOURCE_MEDIUM: {
        "google / cpc": GOOGLE_CPC,
        "newsletter / (none)": NEWSLETTER,
        "(none) / (none)": PRINTERS,
        "(none) / email": HARDWARE,
    },
}
TOTAL = (5, 4, 6, 32_000, 7_000, 11_700, 13_300, 5_333, 2, 1, 1)


def _figures(f) -> tuple:
    money = f.in_currency("EUR")
    return (
        f.captured,
        f.sold,
        f.sales,
        money.revenue_cents,
        money.credits_cents,
        money.earnings_cents,
        money.margin_cents,
        money.cpl_cents,
        f.disputed,
        f.accepted,
        f.won,
    )


@pytest.mark.parametrize("dimension", list(Dimension))
def test_each_dimensions_figures_are_the_hand_computed_ones(known_set, dimension):
    found = report(PERIOD, dimension, PARIS, locale="en")
    assert {group.label: _figures(group.figures) for group in found.groups} == EXPECTED[dimension]
    assert _figures(found.total) == TOTAL
    # The most revenue first.
    revenues = [g.figures.in_currency("EUR").revenue_cents for g in found.groups]
    assert revenues == sorted(revenues, reverse=True)
    assert found.currencies == ["EUR"] and found.zone == "Europe/Paris"


def test_the_rates_of_a_known_group(known_set):
    found = report(PERIOD, Dimension.SECTOR, PARIS, locale="en")
    software = next(g.figures for g in found.groups if g.label.endswith("Software"))
    assert (software.dispute_rate, software.accepted_rate, software.won_rate) == (0.25,) * 3
    assert software.in_currency("EUR").margin_rate == pytest.approx(8_500 / 24_000)
    hardware = next(g.figures for g in found.groups if g.label.endswith("Hardware"))
    # Nothing sold: no rate, no CPL (a dash on the page), not 0 %.
    assert (hardware.dispute_rate, hardware.won_rate) == (None, None)
    money = hardware.in_currency("EUR")
    assert (money.margin_rate, money.cpl_cents) == (None, None)
    total = found.total
    assert total.dispute_rate == pytest.approx(2 / 6)
    assert total.in_currency("EUR").margin_rate == pytest.approx(13_300 / 32_000)


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (FIRST, LAST),
        (date(2026, 3, 26), date(2026, 3, 26)),  # L1's credit booked, its sale before
        (date(2026, 3, 25), date(2026, 3, 30)),  # the disputes, not all of their sales
        (date(2026, 3, 1), date(2026, 4, 30)),  # everything
    ],
)
def test_no_rate_ever_passes_100_percent(known_set, first, last):
    for dimension in Dimension:
        found = report(Period(first, last), dimension, PARIS, locale="en")
        for figures in [g.figures for g in found.groups] + [found.total]:
            money = figures.in_currency("EUR")
            for rate in (
                figures.dispute_rate,
                figures.accepted_rate,
                figures.won_rate,
                money.margin_rate,
            ):
                assert rate is None or 0 <= rate <= 1


def test_a_credit_is_dated_by_its_sale_not_by_the_decision(known_set):
    # Thursday 26: L1's dispute is accepted that day, but L1 was sold on Tuesday.
    found = report(Period(date(2026, 3, 26), date(2026, 3, 26)), Dimension.SECTOR, PARIS)
    assert _figures(found.total) == (1, 0, 0, 0, 0, 0, 0, None, 0, 0, 0)


@pytest.mark.parametrize(
    ("first", "last", "captured"),
    [
        # Monday 30 at 00:30 in Paris is Sunday 29 in UTC: Monday's, not Sunday's.
        (date(2026, 3, 30), date(2026, 3, 30), {"L2"}),
        (date(2026, 3, 29), date(2026, 3, 29), set()),
        # Tuesday 31 at 23:59 in Paris is in; Wednesday 1 April at 00:00 is not.
        (date(2026, 3, 31), date(2026, 3, 31), {"L5"}),
        (date(2026, 4, 1), date(2026, 4, 1), {"L6"}),
        # Sunday 22 at 23:30 in Paris (22:30 UTC) is Sunday's.
        (date(2026, 3, 22), date(2026, 3, 22), {"L4"}),
    ],
)
def test_the_periods_days_are_the_admins(known_set, first, last, captured):
    found = report(Period(first, last), Dimension.UTM_SOURCE, PARIS, locale="en")
    leads = db.session.scalars(
        select(Lead).where(Lead.id.in_([known_set["leads"][name] for name in captured]))
    ).all()
    assert found.total.captured == len(captured)
    # Each lead sold there was sold at capture: its sales are in the same day.
    assert found.total.sales == sum(lead.sales_count for lead in leads)


def test_weeks_start_on_monday_in_the_admins_zone(known_set):
    assert [day for day, _start in week_starts(date(2026, 3, 26), date(2026, 4, 7), PARIS)] == [
        date(2026, 3, 26),
        date(2026, 3, 30),
        date(2026, 4, 6),
    ]
    found = report(PERIOD, Dimension.SECTOR, PARIS, locale="en")
    assert [day for day, _groups in found.weeks] == [date(2026, 3, 23), date(2026, 3, 30)]
    software = next(g for g in found.groups if g.label.endswith("Software"))
    weekly = found.weekly([software.key])
    # L1 in the first week; L2 (Monday 00:30 in Paris, Sunday in UTC) in the second.
    assert [w.in_currency("EUR").revenue_cents for w in weekly] == [12_000, 12_000]
    assert [w.captured for w in found.weekly([g.key for g in found.groups])] == [3, 2]


def test_the_report_is_three_queries_whatever_the_period(known_set):
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        report(Period(date(2025, 4, 1), date(2026, 3, 31)), Dimension.PUBLISHER, PARIS)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 6  # the three families, the names, the session's settings


def test_utm_values_are_read_in_sql(known_set):
    found = db.session.execute(
        select(Lead.id, utm_source(Lead.utm), utm_medium(Lead.utm)).where(
            Lead.id.in_(known_set["leads"].values())
        )
    ).all()
    by_lead = {lead_id: (source, medium) for lead_id, source, medium in found}
    leads = known_set["leads"]
    assert by_lead[leads["L1"]] == ("google", "cpc")
    assert by_lead[leads["L2"]] == ("newsletter", None)
    assert by_lead[leads["L5"]] == (None, None)  # a blank source is none
    assert by_lead[leads["L7"]] == (None, "email")


class _Tables(HTMLParser):
    """The cells' text of every row of one table of a page."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def _table(html: str, table_id: str) -> list[list[str]]:
    parser = _Tables(table_id)
    parser.feed(html)
    return parser.rows


def _as_in_csv(cell: str, decimal: str) -> str:
    """A page's cell as the CSV writes it: "€1,234.50" -> "1234.50", "35.4%" -> "35.4",
    "—" -> ""."""
    if cell == "—":
        return ""
    if re.fullmatch(r"-?€[\d,]+\.\d\d", cell):
        return cell.replace("€", "").replace(",", "").replace(".", decimal)
    if cell.endswith("%"):
        return cell.rstrip("%").replace(".", decimal)
    return cell


@pytest.mark.parametrize(("sep", "delimiter", "decimal"), [("", ",", "."), ("semicolon", ";", ",")])
@pytest.mark.parametrize("dimension", ["sector", "utm_source_medium"])
def test_the_csv_rows_are_the_pages_table(login_as, known_set, sep, delimiter, decimal, dimension):
    http = login_as(known_set["admin"])
    page = http.get(f"/admin/reports?{QUERY}&dimension={dimension}")
    assert page.status_code == 200
    shown = _table(page.get_data(as_text=True), "report-table")
    download = http.get(f"/admin/reports.csv?{QUERY}&dimension={dimension}&sep={sep}")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    body = download.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=delimiter))
    assert rows[0][0] == shown[0][0] and len(rows[0]) == len(shown[0])
    assert rows[0][4] == "Revenue (EUR)" and rows[0][-1] == "Won rate (%)"
    assert rows[1:] == [[row[0], *(_as_in_csv(c, decimal) for c in row[1:])] for row in shown[1:]]
    assert rows[-1][0] == "Total" and len(rows) == len(EXPECTED[Dimension(dimension)]) + 2


def test_the_csv_never_writes_a_formula(login_as, known_set):
    factories.lead(
        factories.magnet(known_set["p1"]),
        now=utc("2026-03-25T10:00:00"),
        utm={"utm_source": '=HYPERLINK("http://evil.example")'},
    )
    http = login_as(known_set["admin"])
    body = http.get(f"/admin/reports.csv?{QUERY}&dimension=utm_source").get_data(as_text=True)
    assert "'=HYPERLINK" in body
    assert "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body


def test_the_page_shows_figures_charts_and_tables(login_as, known_set):
    http = login_as(known_set["admin"])
    page = http.get(f"/admin/reports?{QUERY}&dimension=publisher&figure=dispute_rate")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Europe/Paris" in text and "March 23, 2026" in text
    total = _table(text, "report-table")[-1]
    assert total == [
        "Total", "5", "4", "6", "€320.00", "€70.00", "€117.00", "€133.00", "41.6%",
        "€53.33", "33.3%", "16.7%", "16.7%",
    ]  # fmt: skip
    assert "<caption>" in text and 'scope="row"' in text and 'scope="col"' in text
    weeks = _table(text, "weeks-table")
    assert weeks[0] == ["Week from", "Alpha Media", "Beta Leads", "Total"]
    # Dispute rates per week: L1's on Tuesday 24 (1 of 2), L3's on Saturday 28 (1 of 1).
    assert weeks[1:] == [
        ["23 Mar 2026", "50.0%", "100.0%", "66.7%"],
        ["30 Mar 2026", "0.0%", "0.0%", "0.0%"],
    ]
    for chart in ("groups", "weeks"):
        assert f"/admin/reports/{chart}.svg?" in text
        svg = http.get(f"/admin/reports/{chart}.svg?{QUERY}&dimension=publisher")
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        assert "Alpha Media" in svg.get_data(as_text=True)
        assert "script-src" not in svg.headers["Content-Security-Policy"]
    assert 'href="/admin/reports"' in text  # in the admins' navigation


def test_the_default_period_is_the_last_30_days(login_as):
    page = login_as(factories.admin_user()).get("/admin/reports")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "(30 days)" in text and "grouped by: Sector." in text
    assert 'id="empty-report"' in text


def test_many_groups_are_charted_as_the_first_ones_and_others(login_as, known_set):
    found = report(PERIOD, Dimension.SECTOR, PARIS, locale="en")
    with force_locale("en"):
        named = found.chart_groups("EUR", limit=1)
    assert [label for label, _keys in named] == ["IT and telecoms > Software", "Others"]
    assert len(named[1][1]) == 2


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-03-31&to=2026-03-01", "to", "The end must be on or after the start."),
        ("from=2025-01-01&to=2026-03-01", "to", "Choose at most 366 days."),
        ("from=2026-03-01", "to", "Give both dates, or neither."),
        ("from=yesterday&to=2026-03-01", "from", "Not a valid date value."),
        ("from=0001-01-01&to=2026-03-01", "from", "Give a date between 2000 and 2100."),
        ("dimension=country", "dimension", "Not a valid choice"),
        ("figure=profit", "figure", "Not a valid choice"),
        ("currency=euros", "currency", "three capital letters"),
    ],
)
def test_bad_input_is_said_at_its_field(login_as, query, field, message):
    http = login_as(factories.admin_user())
    page = http.get(f"/admin/reports?{query}")
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert message in text
    assert f'id="{field}-error"' in text and 'id="error-summary"' in text
    assert 'aria-invalid="true"' in text
    assert http.get(f"/admin/reports.csv?{query}").status_code == 400
    for chart in ("groups", "weeks"):
        assert http.get(f"/admin/reports/{chart}.svg?{query}").status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/admin/reports",
        "/admin/reports.csv",
        "/admin/reports/groups.svg",
        "/admin/reports/weeks.svg",
    ],
)
def test_only_admins_see_the_reports(client, login_as, path):
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for user in (factories.buyer_user(), factories.publisher_user()):
        assert login_as(user).get(path).status_code == 403


def test_in_french_the_words_and_the_csv_for_french_excel(login_as, known_set):
    http = login_as(known_set["admin"])
    page = http.get(f"/admin/reports?{QUERY}&lang=fr").get_data(as_text=True)
    assert "Rapport de la plateforme" in page and "Europe/Paris" in page
    assert "Informatique et télécoms &gt; Logiciels" in page
    body = http.get(f"/admin/reports.csv?{QUERY}&sep=semicolon&dimension=utm_source")
    rows = list(csv.reader(io.StringIO(body.get_data().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == [
        "Source (UTM)",
        "Leads reçus",
        "Leads vendus",
        "Ventes",
        "Chiffre d'affaires (EUR)",
    ]
    by_group = {row[0]: row for row in rows[1:]}
    assert by_group["(aucun)"][4] == "80,00" and by_group["(aucun)"][8] == "60,0"
    assert by_group["Total"][9] == "53,33"  # CPL: 320 € / 6 sales


def test_money_is_shown_one_currency_at_a_time(login_as, known_set):
    # A campaign that pays in dollars (the product's campaigns are in euros today).
    dollars = factories.campaign(slugs=("energy/solar",), price_cents=9_000)
    dollars.currency = "USD"
    db.session.commit()
    factories.lead(factories.magnet(slug="energy/solar"), now=utc("2026-03-25T10:00:00"))
    found = report(PERIOD, Dimension.TOP_SECTOR, PARIS, locale="en")
    assert found.currencies == ["EUR", "USD"]
    energy = next(g.figures for g in found.groups if g.label == "Energy")
    assert energy.in_currency("EUR").revenue_cents == 0
    assert energy.in_currency("USD").cpl_cents == 9_000
    # Sales count every currency; the CPL divides a currency's revenue by its own sales.
    assert found.total.sales == 7 and found.total.in_currency("EUR").cpl_cents == 5_333

    http = login_as(known_set["admin"])
    page = http.get(f"/admin/reports?{QUERY}&dimension=top_sector&currency=USD")
    rows = {row[0]: row for row in _table(page.get_data(as_text=True), "report-table")}
    assert rows["Energy"][4] == "$90.00" and rows["IT and telecoms"][4] == "$0.00"
    assert 'aria-current="page"' in page.get_data(as_text=True)  # the currency chosen
    body = http.get(f"/admin/reports.csv?{QUERY}&dimension=top_sector&currency=USD")
    header = next(csv.reader(io.StringIO(body.get_data().decode("utf-8-sig"))))
    assert header[4] == "Revenue (USD)"
