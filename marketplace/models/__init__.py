"""The domain model of domain.md, one module per aggregate."""

from marketplace.models.campaigns import (
    Campaign,
    CampaignStatus,
    CampaignUsage,
    UsagePeriod,
    campaign_sectors,
)
from marketplace.models.catalogue import (
    ConsentText,
    LeadMagnet,
    MagnetAsset,
    MagnetKind,
    MagnetStatus,
    Sector,
)
from marketplace.models.compliance import (
    AuditEvent,
    GdprRequest,
    GdprRequestKind,
    GdprRequestStatus,
    OutboxMail,
    SuppressionEntry,
)
from marketplace.models.leads import (
    ConsentRecord,
    IdempotentRequest,
    Lead,
    LeadStatus,
    Temperature,
)
from marketplace.models.organizations import (
    ApiKey,
    BillingStatus,
    Organization,
    OrganizationKind,
    User,
    UserRole,
)
from marketplace.models.sales import (
    Dispute,
    DisputeReason,
    DisputeStatus,
    LedgerEntry,
    LedgerKind,
    Outcome,
    Sale,
    SaleSource,
)
from marketplace.models.types import utcnow

__all__ = [
    "ApiKey",
    "AuditEvent",
    "BillingStatus",
    "Campaign",
    "CampaignStatus",
    "CampaignUsage",
    "ConsentRecord",
    "ConsentText",
    "Dispute",
    "DisputeReason",
    "DisputeStatus",
    "GdprRequest",
    "GdprRequestKind",
    "GdprRequestStatus",
    "IdempotentRequest",
    "Lead",
    "LeadMagnet",
    "LeadStatus",
    "LedgerEntry",
    "LedgerKind",
    "MagnetAsset",
    "MagnetKind",
    "MagnetStatus",
    "Organization",
    "OrganizationKind",
    "OutboxMail",
    "Outcome",
    "Sale",
    "SaleSource",
    "Sector",
    "SuppressionEntry",
    "Temperature",
    "UsagePeriod",
    "User",
    "UserRole",
    "campaign_sectors",
    "utcnow",
]
