"""The ledger's money views and, later, its Stripe mirror (issue 6)."""
