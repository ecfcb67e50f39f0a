"""Accounts: sign-up, login, role gates."""
