"""Capture: validate a submission, store it with its consent proof, start its distribution.

- ``rules``: what a magnet asks and what is valid (form and API alike);
- ``targets``: the magnet as captures read it, kept a few seconds per process;
- ``store``: the insert of the lead, its consent record and idempotency key;
- ``service``: the use case, the distribution start, the pending-lead sweeper.
"""

from marketplace.capture.rules import (
    CONSENT_REQUIRED,
    CONTACT_FIELDS,
    QUALIFICATION_FIELDS,
    TEXT_QUALIFICATION_FIELDS,
    asked_fields,
    validate_submission,
)
from marketplace.capture.service import (
    CaptureContext,
    CapturedLead,
    FormTokenUsed,
    Idempotency,
    IdempotencyKeyUsed,
    MagnetNotLive,
    capture_lead,
    start_distribution,
    sweep_pending_leads,
)
from marketplace.capture.targets import CaptureTarget, ConsentVersion, capture_target

__all__ = [
    "CONSENT_REQUIRED",
    "CONTACT_FIELDS",
    "QUALIFICATION_FIELDS",
    "TEXT_QUALIFICATION_FIELDS",
    "CaptureContext",
    "CaptureTarget",
    "CapturedLead",
    "ConsentVersion",
    "FormTokenUsed",
    "Idempotency",
    "IdempotencyKeyUsed",
    "MagnetNotLive",
    "asked_fields",
    "capture_lead",
    "capture_target",
    "start_distribution",
    "sweep_pending_leads",
    "validate_submission",
]
