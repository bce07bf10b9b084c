# Lives about 0.3 s: a process this short must still get named frames.
import time


def short_lived_leaf():
    deadline = time.time() + 0.3
    while time.time() < deadline: pass  # LINE:short_hot  # noqa: E701


short_lived_leaf()
