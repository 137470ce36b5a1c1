"""Reports: hourly rollups of the event log and the metrics read from them (docs/reports.md)."""
