"""One router per resource; each handler validates, calls a service, and returns."""
