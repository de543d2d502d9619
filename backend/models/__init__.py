"""All models, importable from one place (Alembic reads ``Base.metadata`` from here)."""
from .base import Base, utcnow
from .company import Company, CompanyAddressAlias, SenderAddress, User
from .crm import Deal, Lead, Organization, Person, PersonEmail, Project
from .mail import Attachment, InboundRecord, MailMessage, MailThread, Participant, ThreadLink
from .operator import OperatorMail
from .providers import MailboxConnection, SentAnnouncement

__all__ = [
    "Base", "utcnow", "Company", "CompanyAddressAlias", "SenderAddress", "User",
    "Deal", "Lead", "Organization", "Person", "PersonEmail", "Project",
    "Attachment", "InboundRecord", "MailMessage", "MailThread", "Participant", "ThreadLink",
    "MailboxConnection", "SentAnnouncement", "OperatorMail",
]
