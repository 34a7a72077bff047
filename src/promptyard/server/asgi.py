"""ASGI entry point for uvicorn: ``promptyard.server.asgi:app``."""

from promptyard.server.app import create_app

app = create_app()
