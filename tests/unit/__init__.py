"""Unit tests: the goal domain and the codec, with no store, no clock and no I/O."""
