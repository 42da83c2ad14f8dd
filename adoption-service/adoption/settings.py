"""The adoption service's settings: the common ones, the likes table and the user pool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mysfits_shared.settings import Env, Settings


@dataclass(frozen=True)
class AdoptionSettings(Settings):
    likes_table_name: str = ""
    user_pool_id: str = ""
    user_pool_client_id: str = ""  # the site's app client: the only audience accepted
    jwks_url: str | None = None  # on AWS the keys are at the issuer's well-known address; locally moto serves them

    @classmethod
    def read(cls, env: Env) -> dict[str, Any]:
        return {
            **super().read(env),
            "likes_table_name": env.required("MYSFITS_LIKES_TABLE_NAME"),
            "user_pool_id": env.required("COGNITO_USER_POOL_ID"),
            "user_pool_client_id": env.required("COGNITO_USER_POOL_CLIENT_ID"),
            "jwks_url": env.url("COGNITO_JWKS_URL"),
        }
