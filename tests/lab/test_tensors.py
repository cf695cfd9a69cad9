"""``navila_lab.tensors``: zeroing rows by index tensor, list, slice or all, along any dim."""

import pytest
import torch
from navila_lab.tensors import zero_rows


@pytest.mark.parametrize(
    "ids", [torch.tensor([0, 2], dtype=torch.int32), torch.tensor([0, 2]), [0, 2], slice(0, 3, 2)], ids=str
)
def test_zeroes_exactly_the_given_rows(ids):
    values = torch.arange(1.0, 13.0).view(4, 3)
    zero_rows(values, ids)
    assert values[[0, 2]].eq(0).all() and values[[1, 3]].ne(0).all()


def test_along_dim_1_and_all():
    values = torch.ones(2, 4, 3)
    zero_rows(values, torch.tensor([1, 3]), dim=1)
    assert values[:, [1, 3]].eq(0).all() and values[:, [0, 2]].eq(1).all()
    zero_rows(values, None, dim=1)
    assert values.eq(0).all()
