"""Tavla's data and rules, free of Flask: usable from views, CLI and tests."""
from .db import BaseModel, bind_database, database, is_sqlite, make_database
from .pagination import Page, paginate
from .categories import (delete_category, reorder_categories, restore_category,
                         retire_category, save_category, set_category_group,
                         set_lead_status_enabled)
from .rules import (Actor, RuleViolation, assign_owner, create_company, create_contact,
                    lead_status_is_active, move_company, set_lead_status, timeline,
                    update_company, update_contact)
from .statuses import (add_lead_status, make_initial_status, reorder_lead_statuses,
                       restore_lead_status, retire_lead_status, save_lead_status)
from .audit import audit_entries, record_audit
from .schema import (CATEGORY_GROUPS, LANGUAGES, POTENTIAL, ROLES, TABLES, AuditLog, Category,
                     Company, Contact, History, LeadStatus, LoginFailure, User)
from .setup import create_default_lists, upgrade_database
from .tally import LeadDaily, LeadTally, daily_counts, tally_counts
from .users import create_user, deactivate_user, reactivate_user, reset_password, update_user

__all__ = [name for name in dir() if not name.startswith("_")]
