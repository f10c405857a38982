"""The whole suite, again, on PostgreSQL (started by conftest.py at the beginning of the run)."""

from tests import conftest


def test_it_passes_the_whole_suite_on_postgresql():
    if conftest.INNER_RUN:
        return  # this is the PostgreSQL run itself
    conftest.needs(bool(conftest.POSTGRES_URL) or conftest.postgres_child is not None,
                   "set UNDERSIGNED_TEST_POSTGRES_URL=postgres://user:password@host/db to run the suite on PostgreSQL too")
    child = conftest.postgres_child
    assert child is not None, "the PostgreSQL run was not started"
    code = child.wait(timeout=1800)
    output = conftest.postgres_log.read_text(errors="replace")
    assert code == 0, "the suite failed on PostgreSQL:\n" + output[-20000:]
