import pytest
from cryptography.fernet import Fernet
from django.db import connection

from apps.core import crypto
from apps.exchanges.models import ExchangeAccount
from tests.exchanges.factories import ExchangeAccountFactory

pytestmark = pytest.mark.django_db


def raw_api_key(account: ExchangeAccount) -> str:
    """The api_key column as the database stores it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM exchanges_exchangeaccount WHERE id = %s", [account.pk])
        return cursor.fetchone()[0]


def test_credentials_are_encrypted_in_the_database_and_readable_in_python():
    account = ExchangeAccountFactory(kind="binance", api_key="AKIA-plain-key", api_secret="s3cr3t")
    stored = raw_api_key(account)
    assert "AKIA-plain-key" not in stored
    assert stored.startswith("gAAAA")  # a Fernet token
    assert ExchangeAccount.objects.get(pk=account.pk).api_key == "AKIA-plain-key"


def test_an_empty_credential_stays_empty():
    account = ExchangeAccountFactory(api_key="")
    assert raw_api_key(account) == ""


def test_a_rotated_key_still_decrypts_what_the_old_key_encrypted(settings):
    account = ExchangeAccountFactory(kind="binance", api_key="before-rotation")
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    assert ExchangeAccount.objects.get(pk=account.pk).api_key == "before-rotation"
    account.api_key = "after-rotation"
    account.save()
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # old key retired
    assert ExchangeAccount.objects.get(pk=account.pk).api_key == "after-rotation"


def test_a_lost_key_is_a_clear_error_not_garbage(settings):
    account = ExchangeAccountFactory(kind="binance", api_key="secret")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DecryptionError, match="FIELD_ENCRYPTION_KEY"):
        ExchangeAccount.objects.get(pk=account.pk)
