"""The platform console, for admins only."""
