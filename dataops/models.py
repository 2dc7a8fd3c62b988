"""The models of the `dataops` app, gathered from its capabilities.

Each capability keeps its own models (`registry/models.py`, `requests/models.py`, ...);
Django looks for an app's models here, so this module imports them all. They keep the
app label `dataops`: their tables, permissions, admin URLs and audit object types are
those they had when they all lived in this file. Nothing inside `dataops` imports this
module: a capability imports the models it uses from where they live.
"""

from .copies.models import DataExport
from .deletions.models import (
    BulkJob,
    ConnectionTest,
    DeletionRequest,
    DeliveryAttempt,
    Propagation,
    new_idempotency_key,
)
from .desk.models import DeskClerk, DeskVisit
from .filings.models import (
    ChangeReview,
    Filing,
    FilingAttachment,
    FilingDocument,
    FilingObligation,
    PersonCount,
    RegulatorAccount,
)
from .incidents.models import (
    AffectedKey,
    AffectedKeyList,
    ContractReview,
    CorrectiveAction,
    Incident,
    IncidentEvent,
    IncidentNotice,
    IncidentReport,
    NoticeDelivery,
)
from .registry.models import (
    Alternative,
    EntityGroup,
    Holding,
    ImpactAssessment,
    LegalEntity,
    ProcessingDay,
    ProcessingRefusal,
    ProcessingSystem,
    Site,
    SystemCredential,
    SystemTransfer,
    validate_alternatives,
)
from .requests.models import Request, ResponseTimePolicy, new_request_reference
from .workbench.models import EvidenceExport

__all__ = [
    "Alternative",
    "BulkJob",
    "ChangeReview",
    "ConnectionTest",
    "AffectedKey",
    "AffectedKeyList",
    "ContractReview",
    "CorrectiveAction",
    "DataExport",
    "DeletionRequest",
    "DeskClerk",
    "DeskVisit",
    "DeliveryAttempt",
    "EntityGroup",
    "EvidenceExport",
    "Filing",
    "FilingAttachment",
    "FilingDocument",
    "FilingObligation",
    "Holding",
    "ImpactAssessment",
    "Incident",
    "IncidentEvent",
    "IncidentNotice",
    "IncidentReport",
    "NoticeDelivery",
    "ProcessingDay",
    "ProcessingRefusal",
    "LegalEntity",
    "PersonCount",
    "ProcessingSystem",
    "Propagation",
    "RegulatorAccount",
    "Request",
    "ResponseTimePolicy",
    "Site",
    "SystemCredential",
    "SystemTransfer",
    "new_idempotency_key",
    "new_request_reference",
    "validate_alternatives",
]
