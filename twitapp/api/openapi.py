"""The JSON API described in OpenAPI 3.0.3, served at ``GET /api/openapi.json`` (tests fuzz the API from it)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from ..services.questions import MAX_POSTS, MIN_POSTS
from . import bp
from .job_status import JOB_FIELDS
from .openapi_accounts import ACCOUNT_LIST_SCHEMA, list_accounts_operation
from .openapi_imports import IMPORT_SCHEMA, imports_operation
from .openapi_x_reads import X_READS_SCHEMA, x_reads_operation


def _error(description: str, retry_after: bool = False, always: bool = False) -> dict[str, Any]:
    """An error answer, ``{"error": ...}``; with ``retry_after``, its Retry-After header (``always`` sent)."""
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if retry_after:
        header = {
            "description": "seconds to wait",
            "required": always,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
        response["headers"] = {"Retry-After": header}
    return response


def _ok(description: str, schema_ref: str, location: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }
    if location:
        response["headers"] = {
            "Location": {"description": "the job's URL", "required": True, "schema": {"type": "string"}}
        }
    return response


UNAVAILABLE = _error(
    "the database, or the job queue (Redis, where REDIS_URL is set), is unreachable", True, always=True
)
COMMON = {"405": _error("method not allowed"), "503": UNAVAILABLE}
BODY = {
    "400": _error("not a JSON object, a required key missing or of the wrong type, or an invalid value"),
    "413": _error("body larger than MAX_REQUEST_KB"),
}
NULLABLE_STRING = {"type": "string", "nullable": True}
NULLABLE_INT = {"type": "integer", "nullable": True}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Account": {
        "type": "object",
        "required": [
            "id",
            "platform",
            "handle",
            "username",
            "name",
            "source",
            "tweet_count",
            "newest_tweet_at",
            "fetched_at",
            "followers_count",
            "url",
        ],
        "properties": {
            "id": {"type": "string"},
            "platform": {"type": "string", "enum": ["x", "bluesky", "mastodon"]},
            "handle": {"type": "string", "description": "the full handle as the platform writes it, without @"},
            "username": {"type": "string"},
            "name": NULLABLE_STRING,
            "source": {"type": "string"},
            "tweet_count": {"type": "integer"},
            "newest_tweet_at": NULLABLE_STRING,
            "fetched_at": NULLABLE_STRING,
            "followers_count": NULLABLE_INT,
            "url": {"type": "string"},
        },
    },
    "AccountAdded": {
        "type": "object",
        "required": ["account"],
        "properties": {
            "account": {
                "allOf": [
                    {"$ref": "#/components/schemas/Account"},
                    {
                        "type": "object",
                        "required": ["added", "message"],
                        "properties": {"added": {"type": "integer"}, "message": {"type": "string"}},
                    },
                ]
            }
        },
    },
    "Job": {
        "type": "object",
        "required": [
            *JOB_FIELDS,
            "url",
            "page",
        ],
        "properties": {
            "id": {"type": "string"},
            "kind": NULLABLE_STRING,
            "label": NULLABLE_STRING,
            "status": {"type": "string", "enum": ["queued", "deferred", "scheduled", "started", "finished", "failed"]},
            "phase": {"type": "string"},
            "done": {"type": "integer"},
            "total": NULLABLE_INT,
            "message": NULLABLE_STRING,
            "usernames": {"type": "array", "items": {"type": "string"}},
            "error": NULLABLE_STRING,
            "retries": {"type": "integer"},
            "enqueued_at": NULLABLE_STRING,
            "updated_at": NULLABLE_STRING,
            "url": {"type": "string"},
            "page": {"type": "string"},
            "joined": {"type": "boolean"},
            "prediction": {
                "allOf": [{"$ref": "#/components/schemas/Prediction"}],
                "nullable": True,
                "description": "the answer of a finished background prediction (a fit over many posts)",
            },
        },
    },
    "JobAnswer": {
        "type": "object",
        "required": ["job"],
        "properties": {"job": {"$ref": "#/components/schemas/Job"}},
    },
    "JobAccepted": {
        "type": "object",
        "required": ["job"],
        "properties": {
            "job": {
                "allOf": [
                    {"$ref": "#/components/schemas/Job"},
                    {
                        "type": "object",
                        "required": ["joined"],
                        "properties": {"joined": {"type": "boolean", "description": "an active job was joined"}},
                    },
                ]
            }
        },
    },
    "Evidence": {
        "type": "object",
        "required": ["term", "weight", "spans"],
        "properties": {
            "term": {"type": "string"},
            "weight": {"type": "number"},
            "spans": {"type": "array", "description": "[start, end) offsets in its post's text"},
        },
    },
    "Prediction": {
        "type": "object",
        "required": [
            "author",
            "probabilities",
            "trust",
            "this_guess",
            "none_of_these",
            "evidence",
            "similar",
            "posts",
            "weighed_most",
            "model",
        ],
        "properties": {
            "author": {"type": "string"},
            "probabilities": {"type": "object", "additionalProperties": {"type": "number"}},
            "trust": {
                "type": "object",
                "description": "how good the model is on these accounts (not on this one guess)",
                "required": ["cv_accuracy", "chance", "level", "summary"],
                "properties": {
                    "cv_accuracy": {"type": "number", "nullable": True},
                    "chance": {"type": "number"},
                    "level": {"type": "string", "enum": ["high", "fair", "some", "low"]},
                    "summary": {"type": "string", "description": "the same, in a plain sentence"},
                },
            },
            "none_of_these": {
                "type": "object",
                "description": "whether the text is likely by none of the candidates",
                "required": ["likely", "probability"],
                "properties": {
                    "likely": {"type": "boolean"},
                    "probability": {"type": "number", "minimum": 0, "maximum": 1},
                },
            },
            "this_guess": {
                "type": "object",
                "required": ["level", "reason"],  # how sure this one guess is
                "properties": {
                    "level": {"type": "string", "enum": ["high", "fair", "some", "low"]},
                    "reason": {"type": "string", "description": "why, in a plain sentence"},
                },
            },
            "evidence": {"type": "array", "items": {"$ref": "#/components/schemas/Evidence"}},
            "posts": {"type": "integer", "minimum": 1, "description": "posts taken to share one author"},
            "model": {
                "type": "object",
                "required": ["cached", "source", "fit_seconds"],
                "properties": {
                    "cached": {"type": "boolean", "description": "fitted before this request"},
                    "source": {"type": "string", "enum": ["memory", "shared", "fitted"]},
                    "fit_seconds": {"type": "number"},
                },
            },
            "weighed_most": {
                "type": "array",
                "description": "of several posts, those that moved the verdict most towards the author",
                "items": {
                    "type": "object",
                    "required": ["post", "text", "weight", "evidence"],
                    "properties": {
                        "post": {"type": "integer", "description": "its number, from 1, in the order given"},
                        "text": {"type": "string"},
                        "weight": {"type": "number"},
                        "evidence": {"type": "array", "items": {"$ref": "#/components/schemas/Evidence"}},
                    },
                },
            },
            "similar": {
                "type": "object",
                "description": "per account, up to 3 of its stored posts that share the words of the text which "
                "point to it (the model's explanation towards that account); none when no post shares one",
                "additionalProperties": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "text", "shared"],
                        "properties": {
                            "id": {"type": "string"},
                            "text": {"type": "string"},
                            "shared": {
                                "type": "array",
                                "items": {"type": "string"},
                                "description": "the words of the text pointing to this account that the post "
                                "uses too, as written in the text, strongest first",
                            },
                        },
                    },
                },
            },
        },
    },
}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "HypoTweet JSON API",
        "version": "1",
        "description": 'JSON in and out; every error is {"error": "..."}.',
    },
    "paths": {
        "/api/accounts": {
            "get": list_accounts_operation(
                _ok("a page of the stored accounts", "AccountList"), _error("a bad page, per_page or q"), COMMON
            ),
            "post": {
                "operationId": "addAccount",
                "summary": "Add or update an account from X, Bluesky or Mastodon",
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["username"],
                        "properties": {
                            "username": {
                                "type": "string",
                                "description": "a handle, with or without its @: an X username (name), a Bluesky "
                                "domain handle (name.bsky.social), or a Mastodon one (name@instance.tld); "
                                "other strings: 400",
                            },
                            "platform": {
                                "type": "string",
                                "enum": ["x", "bluesky", "mastodon"],
                                "description": "the handle's platform; without it, the handle's form says",
                            },
                        },
                    }
                ),
                "responses": {
                    "200": _ok("updated", "AccountAdded"),
                    "201": _ok("added", "AccountAdded"),
                    "202": _ok("queued as a job (REDIS_URL set): follow its Location", "JobAccepted", location=True),
                    **BODY,
                    "403": _error(
                        "protected, suspended or taken-down account, one that asked not to be shown to logged-out "
                        "readers (Bluesky) or to be indexed (Mastodon), moved (Mastodon), an instance that serves only "
                        "logged-in users, or the X API plan cannot read posts"
                    ),
                    "404": _error("no such account on X, Bluesky or Mastodon"),
                    "409": _error("the handle is stored from an upload, or for another X account"),
                    "422": _error("no original posts"),
                    "429": _error(
                        "rate limited (this server's or X's), or X_MAX_READS_PER_DAY reached", retry_after=True
                    ),
                    "502": _error("the X API failed or refused this server's credentials"),
                    **COMMON,
                    "503": _error(
                        "the database or the job queue is unreachable (with Retry-After), or this server has no X API"
                        " bearer token (without: the other sources, files, still work)",
                        retry_after=True,
                    ),
                },
            },
        },
        "/api/imports": {"post": imports_operation(_ok, _error, COMMON)},
        "/api/x-reads": {"get": x_reads_operation(_ok("the upper bound and the day's cap", "XReads"), COMMON)},
        "/api/predict": {
            "post": {
                "operationId": "predict",
                "summary": "Which of the stored accounts most likely wrote the text",
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["accounts"],
                        "properties": {
                            "accounts": {"type": "array", "items": {"type": "string"}},
                            "text": {"type": "string", "description": "one post"},
                            "texts": {
                                "type": "array",
                                "items": {"type": "string"},
                                "minItems": MIN_POSTS,
                                "maxItems": MAX_POSTS,
                                "description": "posts taken to share one author",
                            },
                            "unknown": {
                                "type": "string",
                                "description": "a stored account whose posts are compared (never its own candidate)",
                            },
                        },
                        "oneOf": [{"required": ["text"]}, {"required": ["texts"]}, {"required": ["unknown"]}],
                    }
                ),
                "responses": {
                    "200": _ok("the prediction", "Prediction"),
                    **BODY,
                    "404": _error("an account is not stored"),
                    "409": _error("stored posts were embedded with another spaCy model"),
                    "422": _error("too few posts to compare"),
                    "429": _error("rate limited", retry_after=True),
                    **COMMON,
                },
            }
        },
        "/api/jobs/{job_id}": {
            "get": {
                "operationId": "getJob",
                "summary": "A background job",
                "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _ok("the job", "JobAnswer"), "404": _error("no such job"), **COMMON},
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This description",
                "responses": {
                    "200": {
                        "description": "this document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **COMMON,
                },
            }
        },
    },
    "components": {
        "schemas": SCHEMAS | {"XReads": X_READS_SCHEMA, "Imported": IMPORT_SCHEMA, "AccountList": ACCOUNT_LIST_SCHEMA}
    },
}


@bp.get("/openapi.json")
def openapi():
    return jsonify(SPEC)
