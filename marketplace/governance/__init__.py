"""Running the marketplace: the admins' console of organizations (approve, suspend,
revenue share), sectors (floor prices, return windows), the audit trail and the
platform's overview (docs/admin.md)."""
