"""Macro fixtures: the CRM fixtures (a Splynx fake the hub syncs from) for the CRM variables."""

from tests.crm.conftest import crm, live_splynx

__all__ = ["crm", "live_splynx"]
