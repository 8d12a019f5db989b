"""The address rules of the URL fetcher, without any traffic."""

from __future__ import annotations

import ipaddress

import pytest

from actorvid.netfetch import Allowance, FetchPolicy, UrlRefused, check_url, is_public_address


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.64.0.1",
    "100.127.255.254", "0.0.0.0", "224.0.0.251", "239.255.255.250", "255.255.255.255",
    "240.0.0.1", "192.0.0.8", "198.18.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1",
    "ff02::1", "fec0::1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
    "2002:c0a8:0101::1", "2001:0000:4136:e378:8000:63bf:3fff:fdd2", "::10.0.0.1",
    "2001:db8::1",
])
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111",
                                     "::ffff:8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


def test_every_resolved_address_is_checked() -> None:
    policy = FetchPolicy()
    with pytest.raises(UrlRefused):
        check_url("http://cdn.test/x", policy, lambda host, port: ["8.8.8.8", "127.0.0.1"])
    target = check_url("https://cdn.test/x?y=1", policy, lambda host, port: ["8.8.8.8"])
    assert (target.address, target.port, target.path, target.host) == (
        "8.8.8.8", 443, "/x?y=1", "cdn.test")


def test_allow_list_entries() -> None:
    entries = [Allowance.parse(e) for e in ("10.0.0.0/8", "127.0.0.1:8080", "[::1]:9000",
                                            "Media.Internal", "cdn.local:81")]
    policy = FetchPolicy(allowlist=tuple(entries))

    def resolver(host: str, port: int) -> list[str]:
        return ["10.9.9.9"] if host == "media.internal" else ["192.168.1.1"]

    assert check_url("http://10.2.3.4/x", policy, resolver).address == "10.2.3.4"
    assert check_url("http://127.0.0.1:8080/x", policy, resolver).port == 8080
    assert check_url("http://[::1]:9000/x", policy, resolver).address == "::1"
    assert check_url("http://media.internal/x", policy, resolver).address == "10.9.9.9"
    assert check_url("http://cdn.local:81/x", policy, resolver).address == "192.168.1.1"
    for url in ("http://127.0.0.1:8081/x", "http://[::1]/x", "http://cdn.local/x",
                "http://192.168.1.1/x"):
        with pytest.raises(UrlRefused):
            check_url(url, policy, resolver)
