"""Captures read keys and magnets from short-lived per-process copies."""

from __future__ import annotations

from marketplace import api_keys, snapshots
from marketplace.capture import capture_target
from marketplace.extensions import db
from marketplace.models import LeadMagnet, MagnetStatus
from tests import factories


def test_a_magnet_change_shows_in_captures_after_the_delay(app, monkeypatch):
    monkeypatch.setitem(app.config, "SNAPSHOT_SECONDS", 60)
    magnet = factories.magnet()
    assert capture_target(magnet.key).live

    db.session.get(LeadMagnet, magnet.id).status = MagnetStatus.PAUSED
    db.session.commit()
    assert capture_target(magnet.key).live  # still the copy, within the delay

    snapshots.forget_all()  # as the delay passing does
    assert not capture_target(magnet.key).live


def test_revoking_a_key_takes_effect_at_once_in_this_process(app, monkeypatch):
    monkeypatch.setitem(app.config, "SNAPSHOT_SECONDS", 60)
    publisher = factories.PublisherFactory()
    key, raw = api_keys.issue_api_key(publisher.id, "server")
    assert api_keys.organization_for_key(raw) == (publisher.id, "publisher")

    api_keys.revoke_api_key(publisher.id, key.id)

    assert api_keys.organization_for_key(raw) is None
