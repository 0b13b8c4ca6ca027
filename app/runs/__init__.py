"""A run's life: its status (status.py), its rows (store.py), its events (events.py), who executes it
(backend.py, inprocess.py) and the one service that owns it all (service.py)."""
