from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """Userinfo and ID token claims beyond `sub`, released by scope (profile, email) as
    OAuth2Validator.oidc_claim_scope says."""

    def get_additional_claims(self, request):
        user = request.user
        return {
            "name": f"{user.first_name} {user.last_name}".strip(),
            "preferred_username": user.username,
            "email": user.email,
            "email_verified": True,
        }
