"""Did the update land and is it healthy: pure status (status.py), fixes (hints.py), waiting (wait.py)."""
