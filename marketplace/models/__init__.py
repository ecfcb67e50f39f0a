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
    MagnetKind,
    MagnetStatus,
    Sector,
)
from marketplace.models.compliance import (
    AuditEvent,
    GdprRequest,
    GdprRequestKind,
    GdprRequestStatus,
    SuppressionEntry,
)
from marketplace.models.leads import ConsentRecord, Lead, LeadStatus, Temperature
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
    "Lead",
    "LeadMagnet",
    "LeadStatus",
    "LedgerEntry",
    "LedgerKind",
    "MagnetKind",
    "MagnetStatus",
    "Organization",
    "OrganizationKind",
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
