"""Files: content-addressed attachment storage."""
