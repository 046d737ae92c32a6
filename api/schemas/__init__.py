"""Request and response shapes of the API (pydantic, through ninja): they are the OpenAPI schema."""
