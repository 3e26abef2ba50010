"""Deploy the Todo AI chatbot to Kubernetes with one command, and take it down again.

The package never imports invoke and never exits the process: `tasks.py` is the edge that maps
`orchestrator.errors.OrchestratorError` to exit codes.
"""
