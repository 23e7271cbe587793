"""Generated faces with landmarks, and the warped pairs used to train keypoint discovery."""

from __future__ import annotations

import numpy as np
import torch

from unsup.data.faces import (LANDMARK_NAMES, Faces, WarpedPairs, WarpSpec, affine_warp,
                              face_landmarks, pixel_centres, random_warps)

torch.set_num_threads(1)


def _pixel(img: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """Colour (3,) of the pixel whose centre is nearest to ``point`` (x, y)."""
    s = img.shape[-1]
    j = int(((point[0] + 1) * s / 2).floor().clamp(0, s - 1))
    i = int(((point[1] + 1) * s / 2).floor().clamp(0, s - 1))
    return img[:, i, j]


def test_faces_are_deterministic_and_split_disjoint():
    a, b = Faces("train", 32), Faces("train", 32)
    idx = torch.arange(5)
    assert torch.equal(a[idx], b[idx])
    assert a[idx].shape == (5, 3, 32, 32) and 0 <= float(a[idx].min()) <= float(a[idx].max()) <= 1
    te = Faces("heldout", 32)
    assert len(a) == 6000 and len(te) == 1000
    assert not set(a._map.tolist()) & set(te._map.tolist())
    assert a.fingerprint() == b.fingerprint() != te.fingerprint()
    assert Faces("train", 32, seed=1).fingerprint() != a.fingerprint()


def test_landmarks_sit_on_the_drawn_parts():
    ds = Faces("heldout", 64)
    idx = np.arange(40)
    x, lm = ds[idx], ds.landmarks(idx)
    assert lm.shape == (40, len(LANDMARK_NAMES), 2)
    assert float(lm.abs().max()) < 1
    from unsup.data.faces import PARAM_NAMES
    skin_at = [PARAM_NAMES.index(f"skin_{k}") for k in "rgb"]
    for img, pts, par in zip(x, lm, ds.params(idx)):
        skin = torch.as_tensor(par[skin_at])
        # eye centres are the dark pupils, clearly not skin
        for e in (0, 1):
            colour = _pixel(img, pts[e])
            assert float(colour.max()) < 0.5
            assert float((colour - skin).norm()) > 0.3
        # the image's left eye is on the left of its right eye in the face's own frame: the
        # eye-to-eye vector and the eye-to-mouth vector turn the same way on every face
        eye = pts[1] - pts[0]
        down = pts[3:5].mean(0) - pts[0:2].mean(0)
        assert float(eye[0] * down[1] - eye[1] * down[0]) > 0
        # mouth corners are wider apart than zero and below the nose along "down"
        assert float(((pts[2] - pts[0:2].mean(0)) * down).sum()) > 0


def test_pose_varies_so_the_mean_shape_is_a_poor_guess():
    lm = Faces("train", 64).landmarks(np.arange(500))
    io = (lm[:, 0] - lm[:, 1]).norm(dim=-1)
    spread = (lm - lm.mean(0)).norm(dim=-1).mean() / io.mean()
    assert float(spread) > 0.2


def test_affine_warp_moves_a_dot_where_map_points_says():
    s = 64
    c = pixel_centres(s)
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    p = torch.tensor([0.3, -0.2])
    img = torch.exp(-((xx - p[0]) ** 2 + (yy - p[1]) ** 2) / (2 * 0.05 ** 2))[None, None]
    w = affine_warp(30.0, 1.2, (0.1, 0.05))
    out = w.apply(img, padding="zeros")[0, 0]
    centroid = torch.stack([(out * xx).sum(), (out * yy).sum()]) / out.sum()
    moved = w.map_points(p.view(1, 1, 2))[0, 0]
    assert float((centroid - moved).norm()) < 0.01
    # and the content rotated clockwise on screen (y down): a point right of centre goes down
    assert float(w.map_points(torch.tensor([[[0.5, 0.0]]]))[0, 0, 1]) > 0.2


def test_elastic_map_points_inverts_the_sampling_map():
    g = torch.Generator().manual_seed(3)
    w = random_warps(6, WarpSpec(elastic=0.04), g)
    q = torch.rand(6, 5, 2, generator=g) * 1.4 - 0.7
    p = w.map_points(q)
    assert float((w.source_coords(p) - q).abs().max()) < 1e-4


def test_pairs_are_two_warps_of_one_image_and_repeatable():
    faces = Faces("train", 32)
    pairs = WarpedPairs(faces, variants=4, seed=2)
    assert len(pairs) == 4 * len(faces)
    idx = torch.tensor([0, 6000, 17])
    a, b = pairs[idx], pairs[idx]
    assert a.shape == (3, 2, 3, 32, 32) and torch.equal(a, b)
    # items 0 and 6000 show the same face under different warps
    assert not torch.allclose(a[0, 1], a[1, 1])
    # a source/target pair is closer to each other than to another face
    d_same = (a[0, 0] - a[0, 1]).abs().mean()
    d_other = (a[0, 1] - a[2, 1]).abs().mean()
    assert float(d_same) < float(d_other)
    assert pairs.card()["pairs"]["variants"] == 4


def test_landmarks_follow_the_parameters():
    p = Faces("train", 32).params([0])
    q = p.copy()
    q[0, 0] += 0.1  # cx: the whole face moves right
    d = face_landmarks(q) - face_landmarks(p)
    assert torch.allclose(d[..., 0], torch.full((1, 5), 0.1), atol=1e-6)
    assert torch.allclose(d[..., 1], torch.zeros(1, 5), atol=1e-6)
