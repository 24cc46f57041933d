"""The nftables batches dockyard generates (text), and reading Docker's DOCKER-USER chain."""

from __future__ import annotations

from dockyard.network import Protocol
from dockyard.network.firewall import BridgeRule, Firewall, PortRule


class FakeNft:
    def __init__(self, docker_user: object | None = None) -> None:
        self.batches: list[str] = []
        self.docker_user = docker_user

    def run(self, script: str) -> None:
        self.batches.append(script)

    def query(self, command: str) -> object | None:
        return self.docker_user if "DOCKER-USER" in command else None


def test_port_chain_specific_address_first_then_wildcard() -> None:
    fw = Firewall("t", FakeNft())
    rules = [
        PortRule(Protocol.TCP, "0.0.0.0", 4000, "10.77.0.2", 80),
        PortRule(Protocol.TCP, "127.0.0.1", 4000, "10.77.0.3", 81),
    ]
    lines = fw.port_lines([(Protocol.TCP, 4000)], rules)
    assert lines == [
        "add chain inet t hp_tcp_4000",
        "flush chain inet t hp_tcp_4000",
        "add element inet t hostports { tcp . 4000 : jump hp_tcp_4000 }",
        "add rule inet t hp_tcp_4000 ip daddr 127.0.0.1 meta l4proto tcp dnat ip to 10.77.0.3:81",
        "add rule inet t hp_tcp_4000 meta nfproto ipv4 meta l4proto tcp dnat ip to 10.77.0.2:80",
    ]


def test_port_chain_removed_idempotently_when_unused() -> None:
    fw = Firewall("t", FakeNft())
    lines = fw.port_lines([(Protocol.UDP, 53)], [])
    assert lines == [
        "add chain inet t hp_udp_53",
        "flush chain inet t hp_udp_53",
        "add element inet t hostports { udp . 53 : jump hp_udp_53 }",
        "delete element inet t hostports { udp . 53 }",
        "delete chain inet t hp_udp_53",
    ]


def test_network_elements() -> None:
    fw = Firewall("t", FakeNft())
    assert fw.network_lines(BridgeRule("br1", "10.1.0.0/24"), True) == [
        'add element inet t bridges { "br1" }',
        "add element inet t masq_src { 10.1.0.0/24 }",
    ]
    assert fw.network_lines(BridgeRule("br1", "10.1.0.0/24", internal=True), False) == [
        'add element inet t bridges { "br1" }',
        'delete element inet t bridges { "br1" }',
        'add element inet t internal { "br1" }',
        'delete element inet t internal { "br1" }',
    ]


def test_full_table_is_one_batch_starting_from_scratch() -> None:
    nft = FakeNft()
    fw = Firewall("t", nft)
    assert fw.ensure([BridgeRule("br1", "10.1.0.0/24")], [PortRule(Protocol.TCP, "0.0.0.0", 80, "10.1.0.2", 80)])
    assert len(nft.batches) == 1
    batch = nft.batches[0].splitlines()
    assert batch[:3] == ["add table inet t", "delete table inet t", "add table inet t"]
    assert "add element inet t hostports { tcp . 80 : jump hp_tcp_80 }" in batch


def test_docker_user_handles_from_json() -> None:
    listing = {
        "nftables": [
            {"metainfo": {"version": "1.0.6"}},
            {"chain": {"family": "ip", "table": "filter", "name": "DOCKER-USER", "handle": 1}},
            {
                "rule": {
                    "chain": "DOCKER-USER",
                    "handle": 7,
                    "expr": [
                        {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "br1"}},
                        {"counter": {"packets": 0, "bytes": 0}},
                        {"accept": None},
                    ],
                }
            },
            {"rule": {"chain": "DOCKER-USER", "handle": 3, "expr": [{"return": None}]}},
        ]
    }
    fw = Firewall("t", FakeNft(listing))
    assert fw.docker_user_handles() == {"br1": [7]}
    assert Firewall("t", FakeNft(None)).docker_user_handles() is None
    assert fw.docker_user_lines("br1", False, [7]) == ["delete rule ip filter DOCKER-USER handle 7"]
    assert fw.docker_user_lines("br1", True) == [
        'insert rule ip filter DOCKER-USER oifname "br1" counter accept',
        'insert rule ip filter DOCKER-USER iifname "br1" counter accept',
    ]
