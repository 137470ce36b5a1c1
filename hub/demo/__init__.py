"""Demo data for `hub serve --demo`."""
