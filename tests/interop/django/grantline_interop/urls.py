from django.contrib.auth import views as auth_views
from django.urls import include, path
from oauth2_provider import urls as oauth2_urls

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    # RFC 8414 §3.1: the metadata of issuer http://127.0.0.1:PORT/o is at
    # /.well-known/oauth-authorization-server/o, at the root.
    path("", include((oauth2_urls.metadata_urlpatterns, "oauth2_metadata"))),
]
