"""serving's public surface: every name in __all__ resolves."""

import serving


def test_all_names_resolve():
    for name in serving.__all__:
        assert getattr(serving, name) is not None, name
    assert sorted(serving.__all__) == serving.__all__
