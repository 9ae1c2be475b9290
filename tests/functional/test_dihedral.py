import pytest
import torch

from oneshot_lightning.functional import (
    DIHEDRAL_COUNT,
    dihedral,
    transpose_where,
    undo_dihedral,
)


def test_the_eight_transforms_are_distinct_and_invertible() -> None:
    image = torch.arange(12.0).view(1, 1, 3, 4)
    seen = set()
    for index in range(DIHEDRAL_COUNT):
        moved = dihedral(image, index)
        assert moved.shape[-2:] == ((4, 3) if index % 2 else (3, 4))
        assert torch.equal(undo_dihedral(moved, index), image)
        seen.add(tuple(moved.flatten().tolist()) + tuple(moved.shape))
    assert len(seen) == DIHEDRAL_COUNT


@pytest.mark.parametrize("index", range(DIHEDRAL_COUNT))
def test_transforms_match_numpy_rotations_and_flips(index: int) -> None:
    image = torch.arange(9.0).view(3, 3)
    # Every symmetry of the square is a rotation, possibly after a transpose.
    candidates = [torch.rot90(base, k) for base in (image, image.T) for k in range(4)]
    assert any(torch.equal(dihedral(image, index), c) for c in candidates)


def test_transpose_where_moves_only_the_chosen_samples() -> None:
    images = torch.arange(2 * 9.0).view(2, 1, 3, 3)
    out = transpose_where(torch.tensor([True, False]), images)
    assert torch.equal(out[0], images[0].transpose(-1, -2))
    assert torch.equal(out[1], images[1])
