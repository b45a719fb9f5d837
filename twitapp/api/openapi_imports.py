"""The OpenAPI parts of ``POST /api/imports``: a file uploaded as multipart/form-data (an X archive or its
tweets.js, a Mastodon archive, a Bluesky repository export, a CSV file), imported as the page's form does."""

from __future__ import annotations

from typing import Any

IMPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["imported"],
    "properties": {
        "imported": {
            "type": "object",
            "required": ["message", "platform", "added", "skipped_duplicates", "skipped_reposts", "skipped_empty"]
            + ["accounts"],
            "properties": {
                "message": {"type": "string"},
                "platform": {"type": "string", "enum": ["x", "bluesky", "mastodon"]},
                "added": {"type": "integer"},
                "skipped_duplicates": {"type": "integer", "description": "posts already stored"},
                "skipped_reposts": {"type": "integer", "description": "retweets, boosts and reposts: never stored"},
                "skipped_empty": {"type": "integer"},
                "accounts": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}},
            },
        }
    },
}


def imports_operation(ok: Any, error: Any, common: dict[str, Any]) -> dict:
    """The ``POST`` operation, given the makers of an answer and of an error answer, and the shared answers."""
    imported = ok("imported: 201 when it created an account, else 200", "Imported")
    return {
        "operationId": "importFile",
        "summary": "Import a file: an X archive (.zip, tweets.js), a Mastodon archive (.zip), a Bluesky .car, a CSV",
        "parameters": [
            {
                "name": "X-Admin-Password",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "lets the file add to stored accounts",
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "account": {
                                "type": "string",
                                "description": "the handle, for a tweets.js, a CSV file without authors, a .car",
                            },
                        },
                    }
                }
            },
        },
        "responses": {
            "200": imported,
            "201": imported,
            "202": ok("queued as a job (REDIS_URL set): follow its Location", "JobAccepted", location=True),
            "400": error("no file, or a file that is damaged, unsafe, of no kind imported, or of odd fields"),
            "403": error("a wrong admin password, or none set on this server"),
            "409": error("an account of the file is stored already (adding needs the admin password) or fetched"),
            "413": error("larger than MAX_UPLOAD_MB, MAX_IMPORT_UNCOMPRESSED_MB or MAX_POSTS_PER_ACCOUNT"),
            "429": error("rate limited", retry_after=True),
            **common,
        },
    }
