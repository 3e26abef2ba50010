"""The Todo AI chatbot's API: accounts, tasks and a chat that turns sentences into task operations."""

__version__ = "0.1.0"
