"""A Mastodon handle names a host this server then requests: each way a stranger could point it at the
server's own network (an address, a local name, a name resolving to a private address, a redirect, a
WebFinger link, DNS rebinding, an endless answer) is refused with a clear message and nothing stored.
No test here uses real DNS: the resolver is the test's."""

from __future__ import annotations

import pytest
import requests

from twitapp import exceptions as errors
from twitapp.extensions import db
from twitapp.sources import mastodon, public_hosts
from twitapp.sources.mastodon import MastodonClient
from twitapp.sources.public_hosts import NotPublicHost, literal_address, public_addresses

from .fake_mastodon import FakeMastodon
from .helpers import row_counts

PUBLIC = "93.184.216.34"


class Resolver:
    """A fake resolver: ``answers`` maps a name to its addresses (a list of lists: one per call, the last
    repeated); it records every name asked."""

    def __init__(self, **answers):
        self.answers = {name.replace("_", "."): value for name, value in answers.items()}
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        found = self.answers.get(host)
        if found is None:
            raise OSError("no such name (test resolver)")
        calls = found if found and isinstance(found[0], list) else [found]
        return list(calls[min(self.asked.count(host), len(calls)) - 1])


@pytest.fixture
def guarded(make_app, monkeypatch):
    """The app with no MASTODON_API_URL (each instance read over HTTPS, the guard on) and a test resolver."""
    resolver = Resolver()
    monkeypatch.setattr(public_hosts, "system_resolver", resolver)
    app = make_app(MASTODON_API_URL="")
    app.resolver = resolver
    return app


ADDRESS_HANDLES = [
    "user@localhost",
    "user@10.0.0.5",
    "user@169.254.169.254",
    "user@[::1]",
    "user@2130706433",  # 127.0.0.1 as one decimal number
    "user@0177.0.0.1",  # octal
    "user@0x7f.1",  # hex, short form
    "user@127.1",
]


@pytest.mark.parametrize("handle", ADDRESS_HANDLES)
def test_an_address_or_local_name_as_instance_is_refused_before_any_lookup(guarded, handle):
    client = guarded.test_client()
    response = client.post("/api/accounts", json={"username": handle})
    assert response.status_code == 400
    assert "is not a public Mastodon instance" in response.get_json()["error"]
    assert guarded.resolver.asked == []
    with guarded.app_context():
        assert row_counts(db.session) == (0, 0)


NAMES = {
    "private": (["10.0.0.5"], "10.0.0.5"),
    "loopback": (["127.0.0.1"], "127.0.0.1"),
    "metadata": (["169.254.169.254"], "169.254.169.254"),
    "one of several": ([PUBLIC, "192.168.1.10"], "192.168.1.10"),  # every address is checked
    "ipv6 loopback": (["::1"], "::1"),
    "ipv6 unique local": (["fd00::5"], "fd00::5"),
    "ipv4 mapped": (["::ffff:127.0.0.1"], "::ffff:7f00:1"),
    "carrier nat": (["100.64.0.1"], "100.64.0.1"),
    "unspecified": (["0.0.0.0"], "0.0.0.0"),
}


@pytest.mark.parametrize("case", list(NAMES))
def test_a_name_resolving_to_a_non_public_address_is_refused(guarded, case):
    addresses, shown = NAMES[case]
    guarded.resolver.answers["evil.example.net"] = addresses
    client = guarded.test_client()
    response = client.post("/api/accounts", json={"username": "@user@evil.example.net"})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error.startswith("evil.example.net is not a public Mastodon instance") and shown in error
    with guarded.app_context():
        assert row_counts(db.session) == (0, 0)


@pytest.mark.parametrize("host", ["metadata.google.internal", "printer.local", "db.localhost", "nas.home.arpa"])
def test_local_names_are_refused_without_asking_the_resolver(guarded, host):
    response = guarded.test_client().post("/api/accounts", json={"username": f"user@{host}"})
    assert response.status_code == 400 and "is not a public Mastodon instance" in response.get_json()["error"]
    assert guarded.resolver.asked == []


def test_the_add_form_flashes_the_refusal_and_stores_nothing(guarded):
    guarded.resolver.answers["evil.example.net"] = ["10.1.2.3"]
    response = guarded.test_client().post("/accounts", data={"handle": "@user@evil.example.net"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "flash-error" in page and "evil.example.net is not a public Mastodon instance" in page
    with guarded.app_context():
        assert row_counts(db.session) == (0, 0)


def test_a_name_that_does_not_resolve_says_so():
    client = MastodonClient(resolver=Resolver())
    with pytest.raises(errors.UpstreamError, match=r"Could not find the Mastodon instance nowhere\.example\.net"):
        client.get_user("user@nowhere.example.net")


def test_literal_addresses_in_every_spelling():
    for spelling in ("10.0.0.5", "[::1]", "::1", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "fe80::1%eth0"):
        assert literal_address(spelling) is not None, spelling
    for name in ("mastodon.social", "example.com", "1password.com"):
        assert literal_address(name) is None
    with pytest.raises(NotPublicHost, match="it is an IP address"):
        public_addresses("8.8.8.8", 443, Resolver(), "Mastodon instance")


def test_the_connection_goes_to_the_checked_address_not_a_new_lookup(monkeypatch):
    """DNS rebinding: the name is resolved once, checked, and the socket opened to that very address."""
    opened = []

    def refuse(address, *args, **kwargs):
        opened.append(address)
        raise OSError("no network in tests")

    monkeypatch.setattr(public_hosts.connection, "create_connection", refuse)
    monkeypatch.setattr(public_hosts.socket, "getaddrinfo", lambda *a, **k: pytest.fail("resolved again"))
    resolver = Resolver(social_example_net=[PUBLIC])
    with pytest.raises(errors.UpstreamError, match=r"Could not reach the Mastodon instance social\.example\.net"):
        MastodonClient(resolver=resolver).get_user("user@social.example.net")
    assert opened == [(PUBLIC, 443)] and resolver.asked == ["social.example.net"]


def test_a_pinned_session_never_connects_to_an_unchecked_host_nor_over_plain_http():
    session = public_hosts.pinned_session({})
    with pytest.raises(NotPublicHost, match="was not checked"):
        session.get("https://unchecked.example.net/", timeout=1)
    with pytest.raises(NotPublicHost, match="over HTTPS only"):
        session.get("http://checked.example.net/", timeout=1)
    assert session.trust_env is False  # no proxy from the environment: it would resolve the name itself


def over_fakes(resolver: Resolver, hosts: dict[str, FakeMastodon]) -> MastodonClient:
    """A guarded client (no api_url: every host checked with ``resolver``) whose transport reaches the fakes
    on 127.0.0.1 instead of ``https://host``: what is tested is which hosts it agrees to ask."""
    client = MastodonClient(resolver=resolver)
    client.session = requests.Session()
    client.base_url = lambda host: hosts[host].url  # type: ignore[method-assign]
    return client


def test_each_request_checks_the_name_again(fake_mastodon):
    """A name that resolves to a public address for the lookup and to a private one for the posts."""
    fake_mastodon.add_account("user@flip.example.net", FakeMastodon.make_posts(50))
    resolver = Resolver(flip_example_net=[[PUBLIC], ["127.0.0.1"]])
    client = over_fakes(resolver, {"flip.example.net": fake_mastodon})
    user = client.get_user("user@flip.example.net")
    with pytest.raises(NotPublicHost, match=r"resolves to 127\.0\.0\.1"):
        client.get_tweets(user, 100)
    assert [r["path"] for r in fake_mastodon.requests] == ["/api/v1/accounts/lookup"]


def test_webfinger_finds_the_home_instance_of_a_domain_handle(fake_mastodon):
    """``alice@example.net`` lives on social.example.net: the domain answers the lookup with 404, its
    WebFinger names the home, and the account is read there, under its handle."""
    with FakeMastodon() as domain:
        domain.delegate("example.net", "https://social.example.net")
        fake_mastodon.add_account("alice@example.net", FakeMastodon.make_posts(45), display_name="Alice")
        resolver = Resolver(example_net=[PUBLIC], social_example_net=["93.184.216.35"])
        client = over_fakes(resolver, {"example.net": domain, "social.example.net": fake_mastodon})
        user = client.get_user("@alice@example.net")
        assert (user.username, user.name, user.api_host) == ("alice@example.net", "Alice", "social.example.net")
        assert len(client.get_tweets(user, 100)) == 45
        assert [r["path"] for r in domain.requests] == ["/api/v1/accounts/lookup", "/.well-known/webfinger"]
        assert domain.requests[1]["params"] == {"resource": "acct:alice@example.net"}
        assert fake_mastodon.requests[0]["params"] == {"acct": "alice@example.net"}
        assert sorted(set(resolver.asked)) == ["example.net", "social.example.net"]


@pytest.mark.parametrize(
    "home, message",
    [
        ("https://inside.example.net", "resolves to 10.9.8.7"),
        ("https://10.0.0.5", "not a public Mastodon instance"),
        ("https://[::1]", "not a public Mastodon instance"),
        ("http://social.example.net", "not a public Mastodon instance"),
        ("https://social.example.net:8443", "not a public Mastodon instance"),
        ("https://admin@social.example.net", "not a public Mastodon instance"),
        ("https://metadata.google.internal", "not a public Mastodon instance"),
    ],
)
def test_a_webfinger_link_to_a_non_public_host_is_refused(home, message):
    with FakeMastodon() as domain:
        domain.delegate("example.net", home)
        resolver = Resolver(example_net=[PUBLIC], inside_example_net=["10.9.8.7"], social_example_net=[PUBLIC])
        client = over_fakes(resolver, {"example.net": domain})
        with pytest.raises(NotPublicHost, match=message):
            client.get_user("alice@example.net")
        assert [r["path"] for r in domain.requests] == ["/api/v1/accounts/lookup", "/.well-known/webfinger"]


def test_without_webfinger_the_lookups_404_stands(fake_mastodon):
    client = over_fakes(Resolver(example_net=[PUBLIC]), {"example.net": fake_mastodon})
    with pytest.raises(errors.AccountNotFound, match=r"example\.net has no account @bob@example\.net"):
        client.get_user("bob@example.net")
    fake_mastodon.fail(404, body="<html>Not Found</html>", path_contains="lookup")
    with pytest.raises(errors.UpstreamError, match="has no Mastodon API here"):
        client.get_user("bob@example.net")


def test_a_redirect_is_never_followed(mctx_fake):
    app, fake = mctx_fake
    fake.add_account("alice@mastodon.social", FakeMastodon.make_posts(5))
    fake.fail(302, body="", headers={"Location": "http://169.254.169.254/latest/meta-data/"}, path_contains="lookup")
    response = app.test_client().post("/api/accounts", json={"username": "alice@mastodon.social"})
    assert response.status_code == 502 and "sent its API elsewhere (302)" in response.get_json()["error"]
    assert [r["path"] for r in fake.requests] == ["/api/v1/accounts/lookup"]


def test_an_answer_past_the_bound_is_not_read(mctx_fake, monkeypatch):
    app, fake = mctx_fake
    monkeypatch.setattr(mastodon, "MAX_ANSWER_BYTES", 20_000)
    fake.add_account("alice@mastodon.social", FakeMastodon.make_posts(40))  # a page of 40 is some 100 KB
    response = app.test_client().post("/api/accounts", json={"username": "alice@mastodon.social"})
    assert response.status_code == 502
    assert "mastodon.social sent an answer larger than 19 KB" in response.get_json()["error"]
    with app.app_context():
        assert row_counts(db.session) == (0, 0)


@pytest.fixture
def mctx_fake(make_app, fake_mastodon):
    """The app with MASTODON_API_URL at the fake: the host checks are off for that URL (tests, staging),
    the bound on answers and the refusal of redirects are not."""
    return make_app(MASTODON_API_URL=fake_mastodon.url), fake_mastodon
