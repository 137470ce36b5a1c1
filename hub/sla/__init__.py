"""SLA: business-hours calendars, policies and deadlines."""
