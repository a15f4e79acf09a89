"""Duplicate loops: the same decoded audio (exact), or the same loop at another gain, sample
rate, bit depth or codec, or trimmed or padded by a few milliseconds (near).

Candidates are pairs of similar length whose coarse fingerprints point the same way (one matrix
product per block of files sorted by duration, so 10^5 files stay a matter of seconds);
each candidate is then confirmed on the full fingerprint. Nothing here touches a file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .facets.fingerprint import coarse, similarity

NEAR_MIN = 0.95  # fingerprint correlation a near-duplicate needs (see bench/bench_browse.py)
COARSE_MIN = 0.85  # the screen: cosine of the coarse vectors
LENGTH_SLACK_S, LENGTH_SLACK = 0.12, 0.01  # |d1 - d2| may be 120 ms + 1 %
BLOCK = 512


@dataclass(frozen=True)
class Item:
    key: str  # the caller's name for a file (its path)
    identity: str | None  # audio_identity of its decoded samples
    duration_s: float
    fingerprint: np.ndarray  # (n, bands) uint8


@dataclass(frozen=True)
class Member:
    key: str
    match: str  # "exact": another member has the same decoded audio; "near": only similar
    similarity: float  # to the group's first member (1.0 for exact copies of it)


def find_duplicates(items: Sequence[Item]) -> list[list[Member]]:
    """Groups of two or more, largest first; within a group, the first file by key leads."""
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first_of: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.identity:
            if item.identity in first_of:
                union(i, first_of[item.identity])
            else:
                first_of[item.identity] = i
    reps = [i for i, item in enumerate(items)
            if len(item.fingerprint) and (not item.identity or first_of[item.identity] == i)]
    for i, j in _near_pairs([items[i] for i in reps]):
        union(reps[i], reps[j])

    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(find(i), []).append(i)
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: items[i].key)
        counts: dict[str, int] = {}
        for i in members:
            if items[i].identity:
                counts[items[i].identity] = counts.get(items[i].identity, 0) + 1
        lead = items[members[0]]
        out.append([
            Member(items[i].key,
                   "exact" if items[i].identity and counts[items[i].identity] > 1 else "near",
                   1.0 if items[i].identity and items[i].identity == lead.identity
                   else round(similarity(lead.fingerprint, items[i].fingerprint), 4))
            for i in members])
    out.sort(key=lambda g: (-len(g), g[0].key))
    return out


def _near_pairs(items: Sequence[Item]) -> list[tuple[int, int]]:
    if len(items) < 2:
        return []
    order = np.argsort([it.duration_s for it in items], kind="stable")
    durations = np.array([items[i].duration_s for i in order])
    vectors = np.stack([coarse(items[i].fingerprint) for i in order])
    pairs = []
    for start in range(0, len(order), BLOCK):
        stop = min(start + BLOCK, len(order))
        reach = int(np.searchsorted(durations, durations[stop - 1] * (1 + LENGTH_SLACK)
                                    + LENGTH_SLACK_S, side="right"))
        cos = vectors[start:stop] @ vectors[start:reach].T
        for a, b in zip(*np.nonzero(cos >= COARSE_MIN)):
            i, j = start + int(a), start + int(b)
            if j <= i:
                continue
            if durations[j] - durations[i] > durations[i] * LENGTH_SLACK + LENGTH_SLACK_S:
                continue
            x, y = items[order[i]], items[order[j]]
            if similarity(x.fingerprint, y.fingerprint) >= NEAR_MIN:
                pairs.append((int(order[i]), int(order[j])))
    return pairs
