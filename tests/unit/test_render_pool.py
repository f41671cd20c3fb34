"""The server's render children (server/renderpool.py), with real child processes: users
share them fairly, a render over its time limit costs only its own child, and the limit
counts the render, not the wait for a child."""

from __future__ import annotations

import os
import time

import pytest

from kenning.server.renderpool import RenderFailed, RenderPool


@pytest.fixture
def pool():
    made = RenderPool(children=2, most=4, seconds=2.0)
    yield made
    made.close()


def test_a_hung_render_costs_only_its_own_child():
    pool = RenderPool(children=2, most=4, seconds=3.0)
    try:
        started = time.monotonic()
        hung = [pool.submit(1, None, time.sleep, (60,)) for _ in range(2)]
        time.sleep(0.5)
        theirs = pool.submit(2, None, time.sleep, (2.8,))  # runs past the hung ones' end
        for future in hung:
            with pytest.raises(RenderFailed, match="more than 3 s"):
                future.result(30)
        assert 3.0 <= time.monotonic() - started < 4.0
        assert theirs.result(30) is None  # finished, not killed with them
        assert time.monotonic() - started >= 3.2
        assert pool.submit(1, None, os.getpid, ()).result(10) in pool.pids()
    finally:
        pool.close()


def test_the_time_limit_counts_the_render_not_the_wait():
    pool = RenderPool(children=1, most=1, seconds=2.0)
    try:
        started = time.monotonic()
        first = pool.submit(1, None, time.sleep, (1.5,))
        hung = pool.submit(1, None, time.sleep, (60,))
        assert first.result(30) is None
        with pytest.raises(RenderFailed, match="more than 2 s"):
            hung.result(30)
        assert time.monotonic() - started >= 3.4  # 1.5 s waiting, then 2 s of its own
    finally:
        pool.close()


def test_a_newcomer_is_served_before_others_backlogs(pool):
    backlog = {user: [pool.submit(user, None, time.sleep, (0.5,)) for _ in range(20)]
               for user in (1, 2, 3)}
    time.sleep(0.3)
    started = time.monotonic()
    assert pool.submit(4, None, os.getpid, ()).result(10)
    assert time.monotonic() - started < 1.0
    # At most `most` children, not counting the renders a user started while alone
    # beyond their share once others came (here user 1's second child).
    assert len(pool.pids()) <= pool.most + pool.base - 1
    for futures in backlog.values():
        for future in futures:
            future.cancel()


def test_the_same_work_asked_for_twice_is_done_once(pool):
    one = pool.submit(1, "key", time.sleep, (0.5,))
    two = pool.submit(2, "key", time.sleep, (0.5,))
    assert one is two
    assert one.result(10) is None
    assert pool.submit(1, "key", os.getpid, ()) is not one  # done: a new render


def test_a_crashing_render_fails_alone(pool):
    crash = pool.submit(1, None, os._exit, (3,))
    with pytest.raises(RenderFailed, match="crashed"):
        crash.result(30)
    assert pool.submit(1, None, os.getpid, ()).result(10)
