"""seed the sector taxonomy and its floor prices

The list follows the French B2B lead-generation trade (field-notes.md: B2B quote
requests sell 25-80 EUR); admins edit floor prices afterwards.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# slug, English name, French name, floor price in cents; children follow their parent.
SECTORS = [
    ("it", "IT and telecoms", "Informatique et télécoms", 2500, [
        ("software", "Software", "Logiciels", 3000),
        ("hardware", "Hardware", "Matériel informatique", 2500),
        ("cybersecurity", "Cybersecurity", "Cybersécurité", 4000),
        ("telecom", "Telecoms and internet access", "Télécoms et accès internet", 2500),
        ("managed-services", "Managed IT services", "Infogérance", 3500),
        ("cloud-hosting", "Cloud and hosting", "Cloud et hébergement", 3000),
    ]),
    ("btp", "Construction", "BTP", 2000, [
        ("renovation", "Renovation", "Rénovation", 2500),
        ("new-build", "New build", "Construction neuve", 3500),
        ("roofing", "Roofing", "Toiture", 2500),
        ("electrical", "Electrical work", "Électricité", 2000),
        ("plumbing-hvac", "Plumbing and HVAC", "Plomberie et CVC", 2000),
        ("insulation", "Insulation", "Isolation", 2500),
    ]),
    ("energy", "Energy", "Énergie", 2500, [
        ("solar", "Solar panels", "Panneaux solaires", 4500),
        ("heat-pumps", "Heat pumps", "Pompes à chaleur", 4000),
        ("energy-audit", "Energy audit", "Audit énergétique", 3000),
        ("ev-charging", "EV charging", "Bornes de recharge", 3000),
        ("energy-supply", "Energy supply", "Fourniture d'énergie", 2000),
    ]),
    ("office", "Office equipment", "Équipement de bureau", 1500, [
        ("printers", "Copiers and printers", "Photocopieurs et imprimantes", 2500),
        ("furniture", "Office furniture", "Mobilier de bureau", 2000),
        ("telephony", "Business telephony", "Téléphonie d'entreprise", 2000),
        ("coffee", "Coffee machines", "Machines à café", 1500),
    ]),
    ("services", "Business services", "Services aux entreprises", 2000, [
        ("accounting", "Accounting", "Expertise comptable", 3000),
        ("legal", "Legal services", "Services juridiques", 3000),
        ("recruitment", "Recruitment", "Recrutement", 2500),
        ("cleaning", "Cleaning", "Nettoyage", 2000),
        ("security", "Security and surveillance", "Sécurité et surveillance", 2500),
        ("training", "Training", "Formation professionnelle", 2000),
        ("marketing", "Marketing agencies", "Agences marketing", 2500),
    ]),
    ("insurance", "Insurance", "Assurance", 2500, [
        ("business", "Business insurance", "Multirisque professionnelle", 3000),
        ("group-health", "Group health cover", "Mutuelle d'entreprise", 3500),
        ("fleet", "Fleet insurance", "Assurance flotte automobile", 3000),
        ("liability", "Professional liability", "Responsabilité civile professionnelle", 2500),
    ]),
    ("premises", "Business premises", "Immobilier d'entreprise", 3000, [
        ("offices", "Offices", "Bureaux", 3500),
        ("warehouses", "Warehouses", "Entrepôts et locaux d'activité", 3500),
        ("coworking", "Coworking", "Coworking", 2000),
        ("retail", "Retail premises", "Locaux commerciaux", 3000),
    ]),
    ("fleet", "Vehicles and fleet", "Véhicules et flotte", 2500, [
        ("leasing", "Vehicle leasing", "Location longue durée", 3500),
        ("management", "Fleet management", "Gestion de flotte", 3000),
    ]),
    ("finance", "Business finance", "Financement d'entreprise", 3000, [
        ("factoring", "Factoring", "Affacturage", 4000),
        ("loans", "Business loans", "Prêts professionnels", 4000),
        ("equipment-leasing", "Equipment leasing", "Crédit-bail", 3500),
    ]),
]

sectors = sa.table(
    "sectors",
    sa.column("id", sa.Integer),
    sa.column("parent_id", sa.Integer),
    sa.column("slug", sa.String),
    sa.column("name_en", sa.String),
    sa.column("name_fr", sa.String),
    sa.column("floor_price_cents", sa.Integer),
    sa.column("currency", sa.String),
)


def upgrade():
    connection = op.get_bind()
    for slug, name_en, name_fr, floor, children in SECTORS:
        parent_id = connection.execute(
            sa.insert(sectors)
            .values(slug=slug, name_en=name_en, name_fr=name_fr, floor_price_cents=floor,
                    currency="EUR")
            .returning(sectors.c.id)
        ).scalar_one()
        for child_slug, child_en, child_fr, child_floor in children:
            connection.execute(
                sa.insert(sectors).values(
                    parent_id=parent_id, slug=f"{slug}/{child_slug}", name_en=child_en,
                    name_fr=child_fr, floor_price_cents=child_floor, currency="EUR",
                )
            )


def downgrade():
    connection = op.get_bind()
    connection.execute(sa.delete(sectors).where(sectors.c.parent_id.is_not(None)))
    connection.execute(sa.delete(sectors))
