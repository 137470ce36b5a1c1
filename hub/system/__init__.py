"""The process: settings, backends, the services started once per process, small shared tools."""
