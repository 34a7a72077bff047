"""Operator pages: Jinja templates (``templates/``) and vendored static files (``static/``)."""
