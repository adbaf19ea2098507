"""Settings of the django-oauth-toolkit interop server for grantline's tests.

serve.py starts it: it sets GRANTLINE_DOT_PORT (the port runserver listens on, so the issuer is
pinned to http://127.0.0.1:PORT/o) and GRANTLINE_DOT_STATE (a temporary directory holding the
sqlite database and the OpenID Connect signing key it generated). Test use only.
"""
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

try:
    PORT = int(os.environ["GRANTLINE_DOT_PORT"])
    STATE = Path(os.environ["GRANTLINE_DOT_STATE"])
except (KeyError, ValueError) as e:
    raise ImproperlyConfigured("start this server with serve.py, which sets GRANTLINE_DOT_*") from e

ORIGIN = f"http://127.0.0.1:{PORT}"
ISSUER = f"{ORIGIN}/o"

SECRET_KEY = "grantline-interop-test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "grantline_interop.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "grantline_interop.wsgi.application"

# The tests run concurrently against the threaded development server: WAL and immediate
# transactions keep sqlite from answering "database is locked".
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": STATE / "db.sqlite3",
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}

# Client secrets are hashed with the default hasher (hash_client_secret is on): a fast one, as
# in Django's own test settings, so each client authentication does not cost a PBKDF2 run.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "/accounts/login/"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": (STATE / "oidc.key").read_text(),
    "OIDC_ISS_ENDPOINT": ISSUER,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OAUTH2_VALIDATOR_CLASS": "grantline_interop.validators.ClaimsValidator",
    "SCOPES": {
        "openid": "OpenID Connect",
        "profile": "Your name",
        "email": "Your email address",
        "read": "Read",
        "write": "Write",
        "introspection": "Introspect tokens",
    },
    "DEFAULT_SCOPES": ["read", "write"],
    "PKCE_REQUIRED": True,
    # RFC 9207: the authorization response carries iss (and discovery says so).
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "OAUTH_DEVICE_VERIFICATION_URI": f"{ISSUER}/device/",
    "DCR_ENABLED": True,
    "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
}

# Quiet: only server errors (and their tracebacks) reach stderr, not every request.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django": {"handlers": ["console"], "level": "ERROR"},
        "django.server": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "oauth2_provider": {"handlers": ["console"], "level": "ERROR"},
        "oauthlib": {"handlers": ["console"], "level": "ERROR"},
    },
}
