"""Store urls (issue 18, item B): libpq's connection options, and no secret shown anywhere.

A password may hold any character; percent-encoded, always; an ``@`` or ``:`` even as it
is. Whatever a url holds, neither ``str()``, ``repr()`` nor any error shows a password
(after the user name, or as ``?password=``) or another secret option.
"""

from __future__ import annotations

import pytest

from goalflow.errors import StoreError
from goalflow.persistence.urls import parse_url

CLINIC = "db.clinic.example"


def assert_hidden(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, text


@pytest.mark.parametrize(("written", "password"), [
    ("Tiger@Lily", "Tiger@Lily"),
    ("Tiger@Lily@9", "Tiger@Lily@9"),
    ("Tiger:Lily:9", "Tiger:Lily:9"),
    ("Tiger%40Lily", "Tiger@Lily"),
    ("Tiger%3ALily%2F9%3F", "Tiger:Lily/9?"),
    ("Tiger?Lily", "Tiger?Lily"),
])
def test_a_password_with_at_signs_or_colons_is_read_whole_and_never_shown(
    written: str, password: str
) -> None:
    url = parse_url(f"postgresql://maya:{written}@{CLINIC}:6432/goals?schema=clinic")

    assert (url.user, url.password, url.host, url.port, url.dbname, url.schema) == (
        "maya", password, CLINIC, 6432, "goals", "clinic")
    assert str(url) == f"postgresql://maya:***@{CLINIC}:6432/goals?schema=clinic"
    assert_hidden(repr(url), "Tiger", "Lily")


@pytest.mark.parametrize("written", ["Tiger@Lily", "Tiger:Lily", "Tiger%40Lily", "Tiger/Lily",
                                     "Tiger#Lily", "Tiger?Lily"])
@pytest.mark.parametrize("fault", [":notaport/goals", "/goals?schema=Drop Table",
                                   "/goals?sslmod=require", "/goals/extra", "/goals?schema"
                                   "=a&schema=b", ":5432/goals?connect_timeout=soon"])
def test_no_error_about_a_url_shows_its_password(written: str, fault: str) -> None:
    with pytest.raises(StoreError) as refused:
        parse_url(f"postgresql://maya:{written}@{CLINIC}{fault}")
    assert_hidden(str(refused.value), "Tiger", "Lily")
    assert "postgresql://" in str(refused.value)


@pytest.mark.parametrize("secret", ["password", "sslpassword", "pass%77ord"])
def test_a_secret_given_as_an_option_is_never_shown(secret: str) -> None:
    written = f"postgresql://maya@{CLINIC}/goals?{secret}=TigerLily"
    url = parse_url(written)
    assert_hidden(str(url) + repr(url), "TigerLily")

    for fault in ("&sslmod=require", "&schema=Drop", "&connect_timeout=soon", "&port=1"):
        with pytest.raises(StoreError) as refused:
            parse_url(written + fault)
        assert_hidden(str(refused.value), "TigerLily")


def test_a_password_given_as_an_option_is_the_password() -> None:
    url = parse_url(f"postgresql://maya@{CLINIC}/goals?password=Tiger%26Lily")
    assert url.password == "Tiger&Lily"
    assert str(url) == f"postgresql://maya:***@{CLINIC}:5432/goals"


def test_libpqs_connection_options_are_accepted_and_named_in_the_store() -> None:
    url = parse_url(
        f"postgresql://maya@{CLINIC}/goals?sslmode=verify-full&sslrootcert=/etc/goalflow/ca.pem"
        "&sslcert=/etc/goalflow/maya.crt&sslkey=/etc/goalflow/maya.key&sslpassword=TigerLily"
        "&connect_timeout=3&application_name=goalflow%20ward%207&schema=clinic")

    assert url.options == (
        ("application_name", "goalflow ward 7"), ("connect_timeout", "3"),
        ("sslcert", "/etc/goalflow/maya.crt"), ("sslkey", "/etc/goalflow/maya.key"),
        ("sslmode", "verify-full"), ("sslpassword", "TigerLily"),
        ("sslrootcert", "/etc/goalflow/ca.pem"))
    assert str(url) == (
        f"postgresql://maya@{CLINIC}:5432/goals?schema=clinic&application_name=goalflow%20ward"
        "%207&connect_timeout=3&sslcert=/etc/goalflow/maya.crt&sslkey=/etc/goalflow/maya.key"
        "&sslmode=verify-full&sslpassword=***&sslrootcert=/etc/goalflow/ca.pem")
    assert parse_url(str(url).replace("***", "TigerLily")) == url


def test_an_ipv6_host_is_read_and_shown_in_brackets() -> None:
    url = parse_url("postgresql://maya@[::1]:6432/goals")
    assert (url.host, url.port) == ("::1", 6432)
    assert str(url) == "postgresql://maya@[::1]:6432/goals"


@pytest.mark.parametrize(("query", "says"), [
    ("sslmod=require", "unknown option 'sslmod'"),
    ("sslmode=require&sslmode=disable", "sslmode is given twice"),
    ("service=clinic", "service"),
    ("host=elsewhere.example", "host"),
    ("dbname=other", "dbname"),
    ("connect_timeout=0", "connect_timeout"),
    ("connect_timeout=soon", "connect_timeout"),
])
def test_an_option_goalflow_cannot_honour_is_refused_by_name(query: str, says: str) -> None:
    with pytest.raises(StoreError, match="accepted forms") as refused:
        parse_url(f"postgresql://maya@{CLINIC}/goals?{query}")
    assert says in str(refused.value)


def test_a_password_given_twice_is_refused() -> None:
    with pytest.raises(StoreError, match="password is given twice") as refused:
        parse_url(f"postgresql://maya:Tiger@{CLINIC}/goals?password=Lily")
    assert_hidden(str(refused.value), "Tiger", "Lily")


def test_an_unsupported_url_with_a_password_is_refused_without_it() -> None:
    with pytest.raises(StoreError) as refused:
        parse_url("mysql://maya:Tiger@Lily@localhost/goals?password=Lily")
    assert_hidden(str(refused.value), "Tiger", "Lily")
