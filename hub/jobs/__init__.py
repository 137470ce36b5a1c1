"""The job queue: a registry the domains add their jobs to, and the worker that runs them."""
