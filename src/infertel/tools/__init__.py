"""Operator tools built on the library: the store reader, the leak scanner, ``doctor`` and the
local collector runners. Layer 5: nothing in the library core imports them."""
