"""The fast-math flags of vidclear's kernels that use fast maths.

LLVM's flags (LangRef, "Fast-Math Flags"): no signed zeros (``nsz``),
reciprocals for divisions (``arcp``), fused multiply-add (``contract``) and
approximate functions (``afn``). Not ``nnan`` / ``ninf``: NaN and infinity
keep their IEEE meaning. Not ``reassoc``: with it LLVM may regroup
arithmetic as its optimisation of the moment finds best, and Numba
optimises a parallel kernel compiled in the running process differently
from the same kernel loaded from its cache (numba issue 10617), so the
dehazer's first run after an install wrote pixels a level off the later
runs'. Without it, a kernel's output does not depend on the build
(``tests/kernels/test_reproducible.py``); dropping it cost the 1080p
recovery about 5 % on two threads. Numba wants a ``set``: copy it, never
change it.
"""

FASTMATH = {"nsz", "arcp", "contract", "afn"}
