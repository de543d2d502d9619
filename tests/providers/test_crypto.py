"""Refresh tokens at rest: MultiFernet with key rotation, a derived key by default, `providers rotate-keys`."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select

from backend.cli import main
from backend.config import ConfigError
from backend.models import MailboxConnection
from backend.providers import crypto


def test_round_trip_and_ciphertext_differs(settings):
    sealed = crypto.encrypt(settings, "rt-secret")
    assert "rt-secret" not in sealed and crypto.decrypt(settings, sealed) == "rt-secret"
    assert crypto.encrypt(settings, "rt-secret") != sealed  # fresh IV each time


def test_without_keys_a_key_is_derived_from_the_secret_key(settings):
    assert settings.token_keys == ()
    derived = crypto.derived_key(settings.secret_key)
    assert Fernet(derived).decrypt(crypto.encrypt(settings, "x").encode()) == b"x"
    other = settings.with_(secret_key="another-secret")
    with pytest.raises(crypto.TokenDecryptError):
        crypto.decrypt(other, crypto.encrypt(settings, "x"))


def test_rotation_decrypts_with_any_key_and_encrypts_with_the_first(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = settings.with_(token_keys=(old,))
    sealed_old = crypto.encrypt(before, "rt-1")
    after = settings.with_(token_keys=(new, old))
    assert crypto.decrypt(after, sealed_old) == "rt-1"
    sealed_new = crypto.encrypt(after, "rt-2")
    assert Fernet(new.encode()).decrypt(sealed_new.encode()) == b"rt-2"
    with pytest.raises(crypto.TokenDecryptError):
        crypto.decrypt(settings.with_(token_keys=(new,)), sealed_old)


def test_malformed_keys_are_a_configuration_error(settings):
    with pytest.raises(ConfigError):
        crypto.encrypt(settings.with_(token_keys=("not-a-key",)), "x")


def test_rotate_keys_command_re_encrypts_every_connection(services, settings, outlook, gmail, monkeypatch):
    old = crypto.derived_key(settings.secret_key).decode()
    new = Fernet.generate_key().decode()
    with services.db.session() as session:
        plain = {c.id: crypto.decrypt(settings, c.refresh_token_enc) for c in session.scalars(select(MailboxConnection))}
    for name, value in {"SMARTBCC_DATABASE_URL": settings.database_url, "SMARTBCC_SECRET_KEY": settings.secret_key,
                        "SMARTBCC_INSTANCE_DIR": str(settings.instance_dir), "SMARTBCC_BLOB_DIR": str(settings.blob_dir),
                        "SMARTBCC_TOKEN_KEYS": f"{new},{old}"}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["providers", "rotate-keys"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {"rotated": 2, "unreadable": 0}
    only_new = settings.with_(token_keys=(new,))
    with services.db.session() as session:
        for conn in session.scalars(select(MailboxConnection)):
            assert crypto.decrypt(only_new, conn.refresh_token_enc) == plain[conn.id]
            assert crypto.decrypt(only_new, conn.access_token_enc)


def test_new_key_command_prints_a_usable_key():
    result = CliRunner().invoke(main, ["providers", "new-key"])
    assert result.exit_code == 0
    Fernet(result.output.strip().encode())
