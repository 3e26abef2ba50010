"""One module a task: each is a short list of steps (orchestrator.steps); commands never import each other."""
