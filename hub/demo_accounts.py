"""The demo's two accounts, created once with random passwords kept under var/."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User

from core.users import user_create

DEMO_USERS = {"demo-researcher": "researcher", "demo-rater": "rater"}


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-credentials.json"


def demo_accounts_ensure() -> tuple[dict[str, str], bool]:
    """Return {username: password} for the demo accounts and whether they were created now."""
    path = credentials_path()
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    created = False
    for username, role in DEMO_USERS.items():
        user = User.objects.filter(username=username).first()
        if user is not None and username in known and user.check_password(known[username]):
            continue
        password = secrets.token_urlsafe(9)
        if user is None:
            user_create(username=username, role=role, password=password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        known[username] = password
        created = True
    path.write_text(json.dumps(known, indent=2))
    path.chmod(0o600)
    return known, created
