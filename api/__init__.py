"""The HTTP API at /api/v1/: thin routers over the apps' services and selectors, personal tokens, webhooks.

Built on django-ninja rather than Django REST framework with drf-spectacular: ninja takes the
request and response shapes from pydantic type hints, so one declaration validates the input, types
the handler for mypy and writes the OpenAPI 3 schema (no serializer layer beside the services, no
second library to keep the schema in step). It is plain Django underneath (urls, middleware,
sessions), so the site's login, CSRF and roles apply as they do to the pages.
"""
