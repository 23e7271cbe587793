"""The shipped offline basemap: Thailand's provinces, its neighbours' land, coastlines and
borders, from Natural Earth (public domain), simplified (see ``unsup/data/geo/README.md``).

The listing map draws it under the points so the map shows geography on a machine with no
network; the listing generator uses its coastline and land to place listings (beach towns
along the shore, nothing in the sea). Everything here reads one small GeoJSON file once.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parent / "geo" / "thailand.geojson"
KM_PER_DEG = 111.195  # km per degree of latitude (mean Earth radius 6,371 km)


@lru_cache(maxsize=1)
def geojson() -> dict:
    """The basemap as a GeoJSON FeatureCollection (a cached dict: do not modify it).

    Features: ``kind`` "province" (77 Thai provinces: ``name``, ``name_th``, ``iso``),
    "neighbour" (one multipolygon per neighbouring country, clipped to the region), "coast" and
    "border" (multilinestrings).
    """
    return json.loads(PATH.read_text(encoding="utf-8"))


def features(kind: str) -> list[dict]:
    return [f for f in geojson()["features"] if f["properties"]["kind"] == kind]


@lru_cache(maxsize=1)
def _edges() -> np.ndarray:
    """Every edge of every land ring (outer rings and holes), (m, 4): lon0, lat0, lon1, lat1."""
    out = []
    for f in geojson()["features"]:
        if f["geometry"]["type"] != "MultiPolygon":
            continue
        for poly in f["geometry"]["coordinates"]:
            for ring in poly:
                r = np.asarray(ring, float)
                out.append(np.c_[r[:-1], r[1:]])
    return np.vstack(out)


def on_land(lat, lon) -> np.ndarray:
    """True where a point lies on land (any province or neighbour), by the even-odd rule."""
    lat = np.atleast_1d(np.asarray(lat, float))
    lon = np.atleast_1d(np.asarray(lon, float))
    inside = np.zeros(len(lat), bool)
    E = _edges()
    ymin, ymax = np.minimum(E[:, 1], E[:, 3]), np.maximum(E[:, 1], E[:, 3])
    xmax = np.maximum(E[:, 0], E[:, 2])
    order = np.argsort(lat, kind="stable")  # chunks of nearby latitudes meet few edges
    for s in range(0, len(lat), 1000):
        idx = order[s:s + 1000]
        py, px = lat[idx], lon[idx]
        # a ray from each point to the east crosses only edges in its latitude band
        e = E[(ymax >= py.min()) & (ymin <= py.max()) & (xmax >= px.min())]
        if not len(e):
            continue
        x0, y0, x1, y1 = (e[:, i][None, :] for i in range(4))
        crosses = (y0 > py[:, None]) != (y1 > py[:, None])
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = x0 + (py[:, None] - y0) * (x1 - x0) / (y1 - y0)
        inside[idx] = (crosses & (px[:, None] < xc)).sum(1) % 2 == 1
    return inside


@lru_cache(maxsize=4)
def coast_points(step_km: float = 0.1) -> np.ndarray:
    """Points along every coastline, about ``step_km`` apart: (m, 4) lat, lon and the unit
    direction of the shore there (north, east components)."""
    out = []
    for f in features("coast"):
        for line in f["geometry"]["coordinates"]:
            a = np.asarray(line, float)  # (lon, lat)
            for (x0, y0), (x1, y1) in zip(a[:-1], a[1:]):
                kx = np.cos(np.radians((y0 + y1) / 2))
                dn, de = (y1 - y0) * KM_PER_DEG, (x1 - x0) * KM_PER_DEG * kx
                length = float(np.hypot(dn, de))
                if length == 0:
                    continue
                m = max(1, int(np.ceil(length / step_km)))
                t = (np.arange(m) + 0.5) / m
                out.append(np.c_[y0 + t * (y1 - y0), x0 + t * (x1 - x0),
                                 np.full(m, dn / length), np.full(m, de / length)])
    return np.vstack(out)


def distance_km(lat0, lon0, lat1, lon1) -> np.ndarray:
    """Great-circle (haversine) distance in km, broadcasting."""
    p0, p1 = np.radians(lat0), np.radians(lat1)
    a = (np.sin((p1 - p0) / 2) ** 2
         + np.cos(p0) * np.cos(p1) * np.sin(np.radians(np.subtract(lon1, lon0)) / 2) ** 2)
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def distance_to_coast_km(lat, lon) -> np.ndarray:
    """Distance (km) from each point to the nearest point of the shipped coastline (100 m
    spacing), computed among the coastline within reach of the points' box."""
    lat = np.atleast_1d(np.asarray(lat, float))
    lon = np.atleast_1d(np.asarray(lon, float))
    C = coast_points()
    out = np.full(len(lat), np.inf)
    for s in range(0, len(lat), 2000):
        la, lo = lat[s:s + 2000], lon[s:s + 2000]
        pad = 0.5
        while True:  # widen the box until it holds some coastline
            sel = C[(C[:, 0] > la.min() - pad) & (C[:, 0] < la.max() + pad)
                    & (C[:, 1] > lo.min() - pad) & (C[:, 1] < lo.max() + pad)]
            if len(sel) or pad > 40:
                break
            pad *= 2
        d = distance_km(la[:, None], lo[:, None], sel[None, :, 0], sel[None, :, 1])
        d = d.min(1)
        far = d > pad * KM_PER_DEG * 0.9  # the true nearest may lie outside the box
        if far.any():
            d[far] = distance_km(la[far, None], lo[far, None], C[None, :, 0],
                                 C[None, :, 1]).min(1)
        out[s:s + 2000] = d
    return out


def region() -> tuple[float, float, float, float]:
    """The basemap's box: (lon0, lat0, lon1, lat1)."""
    return tuple(geojson()["region"])
