"""Teams: the people of an organization, their roles, invitations by signed link, and
the organization's own settings (its timezone).

An owner changes billing, campaigns' prices, API keys and the team; a member works
the organization's leads and magnets. Every change to the team is in the audit trail.
"""
