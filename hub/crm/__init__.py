"""CRM sync: customers, services, invoices and tickets of an ISP's billing system beside every
conversation (see docs/crm.md). Connectors for each CRM live in adapters/ (entry points `hub.crm`).
"""
