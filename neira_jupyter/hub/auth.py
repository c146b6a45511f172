"""Who calls the neira service, and what they may do: JupyterHub identity and scopes.

``HubIdentityProvider`` is jupyterhub's own ``JupyterHubIdentityProvider``
(``HubOAuth``: a caller's token in ``Authorization: token ...``, or the
Hub's OAuth cookie for a browser), which already refuses callers without the
service's access scope (``access:services!service=neira``, from
``JUPYTERHUB_OAUTH_ACCESS_SCOPES``): they get 403. It also tells the quota
ledger each user's groups. ``HubAuthorizer`` denies by default: only the
``neira`` resource, and only for callers holding the access scope;
``is_admin`` says whether a caller holds the admin scope
(``custom:neira:admin`` by default).
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth import Authorizer
from jupyterhub.singleuser.extension import JupyterHubIdentityProvider, JupyterHubUser
from traitlets import Any as AnyTrait
from traitlets import Unicode

from ..server.base import AUTH_RESOURCE

ADMIN_SCOPE = "custom:neira:admin"


class HubIdentityProvider(JupyterHubIdentityProvider):
    """The Hub user behind a request (token or OAuth cookie), with the access scope checked."""

    ledger = AnyTrait(None, allow_none=True, help="QuotaLedger told each user's groups.")

    async def get_user(self, handler: Any) -> JupyterHubUser | None:
        user = await super().get_user(handler)
        if user is not None and self.ledger is not None:
            self.ledger.set_groups(user.username, user.hub_user.get("groups") or [])
        return user


class HubAuthorizer(Authorizer):
    """Deny by default: the neira API only, for Hub users holding the service's access scope."""

    admin_scope = Unicode(ADMIN_SCOPE, config=True, help="The scope that sees every user.")

    def has_access(self, user: Any) -> bool:
        hub_user = getattr(user, "hub_user", None)
        if hub_user is None:
            return False
        provider = self.identity_provider
        assert isinstance(provider, JupyterHubIdentityProvider)
        hub_auth = provider.hub_auth
        return bool(hub_auth.check_scopes(hub_auth.access_scopes, hub_user))

    def is_admin(self, user: Any) -> bool:
        hub_user = getattr(user, "hub_user", None)
        return hub_user is not None and self.admin_scope in set(hub_user.get("scopes") or ())

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource == AUTH_RESOURCE and self.has_access(user)
