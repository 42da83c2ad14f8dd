"""Who is asking: the visitor's verified Cognito ID token, never a header alone."""

from __future__ import annotations

import functools

from flask import current_app, g, request

from mysfits_shared.auth import InvalidToken, KeysUnavailable, token_from_header
from mysfits_shared.errors import ApiError
from mysfits_shared.tracing import annotate

# The header API Gateway's Cognito authorizer fills from context.authorizer.claims.sub.
VISITOR_HEADER = "X-Mysfits-Visitor"


def signed_in(view):
    """Run `view` only for a visitor with a valid ID token; `g.visitor_id` is its subject."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        verifier = current_app.extensions["token_verifier"]
        try:
            claims = verifier.verify(token_from_header(request.headers.get("Authorization")))
        except InvalidToken as error:
            raise ApiError(401, "Unauthorized", str(error)) from None
        except KeysUnavailable:
            current_app.logger.exception("cannot verify tokens")
            raise ApiError(
                503, "ServiceUnavailable", "Sign-in cannot be checked right now; please try again."
            ) from None
        forwarded = request.headers.get(VISITOR_HEADER)
        if forwarded is not None and forwarded != claims["sub"]:
            raise ApiError(401, "Unauthorized", "The identity header does not match the token.")
        g.visitor_id = claims["sub"]
        annotate("visitor", claims["sub"])  # the subject, never the token
        return view(*args, **kwargs)

    return wrapper
