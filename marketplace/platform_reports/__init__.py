"""The platform's reports for admins: leads, sales, money and quality per sector,
publisher, magnet kind or acquisition channel over a chosen period, with charts and a
CSV file (docs/admin.md, "Platform reports")."""
