"""Child processes that end with their parent, however the parent ends (even by
`kill -9`): Linux's parent-death signal, set by the child itself."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(how: int = signal.SIGKILL) -> None:
    """(In a child.) Be sent `how` when the parent process ends; if it already has,
    end now. Elsewhere than on Linux: nothing (the child ends when its pipe closes)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(how), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it ended before the signal was asked for
        os.kill(os.getpid(), how)
