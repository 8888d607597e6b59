"""The tamper-evident log: a Merkle tree over the stored events, digests, verification
and proofs that an auditor can check without the store.

:mod:`.merkle` is the RFC 9162 arithmetic, :mod:`.leaves` the bytes each event is
hashed as, :mod:`.chain` the tree's tables (written in the events' transactions),
:mod:`.verify` the check of a whole store and :mod:`.proofs` one goal's proof.
"""
