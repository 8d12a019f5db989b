"""The URL prefix of the V3 API, in one place: the routes, their examples and the OpenAPI
document are all built from it."""

API = "/api/v3"
