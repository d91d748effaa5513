"""A set's items are saved in the order of their JSON text; the fast spellings of the common
items (ints, object references) must sort exactly as the JSON encoder's text does, or the same
machine would save different bytes than it did before."""

import json

from hypothesis import given
from hypothesis import strategies as st

from kernel.state.graph import _order

_items = st.one_of(
    st.integers(),
    st.builds(lambda n: {"$r": n}, st.integers()),
    st.builds(lambda xs: {"$t": xs}, st.lists(st.integers(), max_size=3)),
    st.text(max_size=4),
    st.booleans(),
    st.none(),
)


@given(_items)
def test_order_key_is_the_json_text(item):
    assert _order(item) == json.dumps(item, sort_keys=True)


@given(st.lists(_items, max_size=12))
def test_items_sort_as_their_json_text(items):
    assert sorted(items, key=_order) == sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
