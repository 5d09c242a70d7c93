"""The receiver the README shows is the one docs/webhooks.md shows (the tests run it)."""

from .receiver import DOCS, README, receiver_snippet


def test_the_docs_and_the_readme_show_the_same_receiver():
    assert receiver_snippet(DOCS) == receiver_snippet(README)
    assert len(receiver_snippet(README).strip().splitlines()) <= 14
