"""ASGI entry point for uvicorn: ``promptyard.server.asgi:app``.

The local model runtime is proven before the app exists, so a llama.cpp build that crashes on
this CPU stops the start with the fix instead of killing a worker at its first request.
"""

from promptyard.providers.local import preflight
from promptyard.server.app import create_app
from promptyard.settings import get_settings

preflight(get_settings())
app = create_app()
