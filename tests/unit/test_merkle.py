"""The Merkle arithmetic against the published RFC 6962 test vectors (as the
certificate-transparency and transparency-dev/merkle projects publish them), and a
leaf input an auditor can rebuild from the README's table."""

from __future__ import annotations

import hashlib
import struct
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goalflow.integrity import merkle
from goalflow.integrity.leaves import leaf_input, parse

LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]
# (leaf index, tree size, audit path)
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]

HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]
NODES = merkle.perfect_nodes(HASHES)


def nodes(level: int, index: int) -> bytes:
    return NODES[(level, index)]


def test_roots_match_the_published_vectors() -> None:
    assert merkle.root(0, nodes) == hashlib.sha256(b"").digest()
    assert [merkle.root(n, nodes) for n in range(1, 9)] == ROOTS


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_published_vectors(index: int, size: int, path: list[str]
                                                      ) -> None:
    proof = merkle.inclusion_path(index, size, nodes)
    assert [h.hex() for h in proof] == path
    merkle.verify_inclusion(index, size, HASHES[index], proof, ROOTS[size - 1])
    for wrong_index in {index - 1, index + 1, index ^ 2} - {index}:
        if 0 <= wrong_index < size:
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(wrong_index, size, HASHES[index], proof,
                                        ROOTS[size - 1])
    for at in range(len(proof)):
        flipped = list(proof)
        flipped[at] = bytes([flipped[at][0] ^ 8]) + flipped[at][1:]
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, size, HASHES[index], flipped, ROOTS[size - 1])
    for bad in (proof[:-1], [*proof, ROOTS[0]], [ROOTS[0], *proof]):
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, size, HASHES[index], bad, ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_published_vectors(first: int, second: int,
                                                        path: list[str]) -> None:
    proof = merkle.consistency_proof(first, second, nodes)
    assert [h.hex() for h in proof] == path
    merkle.verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], proof)
    probes = [
        (first, second, ROOTS[second - 1], ROOTS[first - 1], proof),  # swapped roots
        (first, second, ROOTS[first - 1], ROOTS[second - 1], []),
        (first, second, ROOTS[first - 1], ROOTS[second - 1], proof[:-1]),
        (first, second, ROOTS[first - 1], ROOTS[second - 1], [*proof, ROOTS[0]]),
        (first, second, ROOTS[first - 1], ROOTS[second - 1], [ROOTS[0], *proof]),
    ]
    if first > 1:
        probes.append((first - 1, second, ROOTS[first - 1], ROOTS[second - 1], proof))
    for at in range(len(proof)):
        flipped = list(proof)
        flipped[at] = bytes([flipped[at][0] ^ 16]) + flipped[at][1:]
        probes.append((first, second, ROOTS[first - 1], ROOTS[second - 1], flipped))
    for probe in probes:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*probe)


def test_consistency_at_the_edges() -> None:
    merkle.verify_consistency(0, 5, b"any", ROOTS[4], [])
    merkle.verify_consistency(3, 3, ROOTS[2], ROOTS[2], [])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(3, 3, ROOTS[2], ROOTS[3], [])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(4, 3, ROOTS[3], ROOTS[2], [])


@given(st.integers(1, 70).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))))
def test_every_proof_of_every_small_tree_verifies(sizes: tuple[int, int]) -> None:
    second, first = sizes
    hashes = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(second)]
    tree = merkle.perfect_nodes(hashes)

    def get(level: int, index: int) -> bytes:
        return tree[(level, index)]

    roots = {n: merkle.root(n, get) for n in (first, second)}
    index = first - 1
    merkle.verify_inclusion(index, second, hashes[index],
                            merkle.inclusion_path(index, second, get), roots[second])
    merkle.verify_consistency(first, second, roots[first], roots[second],
                              merkle.consistency_proof(first, second, get))


def test_appending_completes_exactly_the_subtrees_a_tree_has() -> None:
    made = {key for size in range(0, 40) for key in merkle.completed(size, 1)}
    assert made == {key for key in merkle.perfect_nodes([b""] * 40) if key[0] > 0}
    assert merkle.frontier(6) == [(2, 0), (1, 2)]


def test_a_leaf_input_is_laid_out_as_the_readme_says() -> None:
    goal = UUID("7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b")
    data = leaf_input(42, goal, 3, "goalflow:Goal.Agreed", b'{"x":1}')
    # What an auditor writes from the README's table, with nothing of goalflow's.
    topic = b"goalflow:Goal.Agreed"
    expected = (b"\x01" + struct.pack(">Q", 42) + goal.bytes + struct.pack(">Q", 3)
                + struct.pack(">I", len(topic)) + topic + struct.pack(">I", 7) + b'{"x":1}')
    assert data == expected
    assert parse(data) == (42, goal, 3, "goalflow:Goal.Agreed", b'{"x":1}')
    for bad in (data[:-1], data + b"x", b"\x02" + data[1:], data[:20]):
        with pytest.raises(ValueError, match="leaf input"):
            parse(bad)


def test_a_goal_ids_bytes_are_read_from_every_form_a_row_holds() -> None:
    from goalflow.integrity.chain import id_bytes

    goal_id = UUID("7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b")
    assert id_bytes(goal_id) == goal_id.bytes  # PostgreSQL's uuid
    assert id_bytes(goal_id.hex) == goal_id.bytes  # SQLite's hex text
    assert id_bytes(str(goal_id)) == goal_id.bytes  # a row rewritten with dashes
    assert id_bytes(goal_id.hex.upper()) == goal_id.bytes
    spaced = f"{goal_id.hex[:2]} {goal_id.hex[2:4]} {goal_id.hex[4:30]}"  # 32 characters
    assert len(spaced) == 32
    assert len(bytes.fromhex(spaced)) == 15
    with pytest.raises(ValueError, match="invalid literal"):
        id_bytes(spaced)  # as UUID() refuses it: fromhex's skipping of spaces is not a way in
    with pytest.raises(ValueError, match="invalid literal"):
        id_bytes("z" * 32)
