"""Encryption at rest with a data key per subject, and crypto-shredding (forgetting a subject).

:mod:`.master` reads the master key; :mod:`.keystore` keeps the data keys, wrapped by it, apart
from the events; :mod:`.sealing` encrypts and decrypts each event's stored state with its
subject's key; :mod:`.erasure` forgets a subject and keeps retention holds.
"""
