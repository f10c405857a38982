"""Small helpers shared by the JSON API views: errors, caching headers, and reading JSON bodies."""

from __future__ import annotations

import json

from django.http import JsonResponse

MAX_BODY_BYTES = 16 * 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str, **details):
        super().__init__(message)
        self.status, self.message, self.details = status, message, details

    def response(self) -> JsonResponse:
        return JsonResponse({"error": self.message, **self.details}, status=self.status)


def cacheable(response: JsonResponse, seconds: int = 5) -> JsonResponse:
    response["Cache-Control"] = f"public, max-age={seconds}"
    return response


def read_json_object(request) -> dict:
    """The request's JSON object body, or an ApiError saying precisely what is wrong with it."""
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise ApiError(415, "Send a JSON object with Content-Type: application/json.")
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
        raise ApiError(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, f"The body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.")
    return data
