"""Holding a strength: the style weight adapts while the picture is painted, so that the photo
keeps the share the strength asks for.

A fixed style weight means very different things on different pictures: the weight that keeps
half of the photo spans a 30x range across pairs (docs/QUALITY.md), so one weight is a glaze on
one pair and a takeover on the next. A strength instead names how much of the photo to keep
(``kept_target``, read by ``photo_kept``), and the governor watches the picture as it is
painted: when the style has taken more than the strength allows, the weight is lowered at once
and the scale starts again from its own start at the new weight (continuing from a taken-over
picture, the photo does not come back); when a scale has settled still keeping more than
asked, the weight is raised and the scale goes on from there. Each change moves the weight in
log weight, by how far the picture is from the target over photo_kept's typical fall per
doubling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Move = Literal["lighter", "heavier"]

#: photo_kept asked at strength 0 (a glaze) and at strength 100 (a takeover, the layout barely
#: there); linear between, so strength 50 asks for a little under half of the photo
KEEP_AT_0, KEEP_AT_100 = 0.8, 0.1
#: the picture may keep this much more or less of the photo than asked before the weight moves
BAND = 0.06
#: the weight painting starts with at strength 50; it moves a decade per STRENGTH_PER_DECADE
FIRST_WEIGHT = 2.0
STRENGTH_PER_DECADE = 50.0
WEIGHT_RANGE = (0.02, 200.0)
#: the most the weight may rise above where it started: past it the style takes no more (its
#: statistics are matched) and only erases the photo, which photo_kept does not always see (a
#: painting whose dark masses fall where the photo's were still scores 0.5)
MAX_RISE = 10.0
#: photo_kept's typical fall per doubling of the weight (docs/QUALITY.md), and the furthest one
#: change moves the weight
TYPICAL_FALL = 0.12
MAX_DOUBLINGS = 3.0
#: changes a scale may make: the picture must settle rather than swing
MAX_CHANGES = 3
#: steps between two readings of the picture while a scale runs
CHECK_STEPS = 10


def kept_target(strength: float) -> float:
    """The photo_kept a strength (0-100) asks for."""
    return KEEP_AT_0 + (KEEP_AT_100 - KEEP_AT_0) * strength / 100


def first_weight(strength: float) -> float:
    """The weight painting starts with: near the one that holds the strength on a typical
    pair, so that most pairs need few changes."""
    return _clamp(FIRST_WEIGHT * 10 ** ((strength - 50) / STRENGTH_PER_DECADE))


@dataclass
class Governor:
    """The style weight for a strength, and how it moved: one per batch, across its scales."""

    strength: float
    weight: float = 0.0
    changes: int = 0  # at the running scale
    history: list[tuple[float, float]] = field(default_factory=list)  # (photo_kept, new weight)

    def __post_init__(self) -> None:
        self.target = kept_target(self.strength)
        self.weight = self.weight or first_weight(self.strength)
        self.last: tuple[Move, float] | None = None  # the last move and its size, in doublings
        self.begin_scale()  # sets the floor below which the weight is lowered

    def begin_scale(self, start_kept: float | None = None) -> None:
        """A scale begins: from the content (the coarsest, ``start_kept`` None) or from a
        coarser result that keeps ``start_kept``. A finer scale cannot bring back what the
        coarser one lost (its start is that picture again, at any weight): it only keeps
        the photo from being lost further."""
        self.changes = 0
        self.floor = self.target - BAND
        if start_kept is not None:
            self.floor = min(self.floor, start_kept)

    def took_too_much(self, kept: float) -> bool:
        """Whether the style has taken more of the photo than the strength allows (read every
        CHECK_STEPS steps; the stretch then ends and the scale starts again after ``retune``)."""
        return kept < self.floor and self._may_change(lighter=True)

    def retune(self, kept: float, settled: bool) -> Move | None:
        """After a stretch of a scale that kept ``kept`` of the photo: move the weight if the
        picture is outside the band (keeping too much counts only once the scale has
        ``settled``). A move back the way the last one came goes at most half as far, so the
        weight closes in instead of swinging. Says which way it moved, or None when the scale
        is done."""
        if kept < self.floor:
            move: Move = "lighter"
        elif settled and kept > self.target + BAND:
            move = "heavier"
        else:
            return None
        if not self._may_change(move == "lighter"):
            return None
        doublings = min(MAX_DOUBLINGS, abs(kept - self.target) / TYPICAL_FALL)
        if self.last is not None and self.last[0] != move:  # turning back: halve the step
            doublings = min(doublings, self.last[1] / 2)
        self.last = (move, doublings)
        self.weight = _clamp(self.weight * 2 ** (-doublings if move == "lighter" else doublings),
                             self.ceiling)
        self.changes += 1
        self.history.append((kept, self.weight))
        return move

    def _may_change(self, lighter: bool) -> bool:
        limit = WEIGHT_RANGE[0] if lighter else self.ceiling
        return self.changes < MAX_CHANGES and not math.isclose(self.weight, limit)

    @property
    def ceiling(self) -> float:
        return _clamp(first_weight(self.strength) * MAX_RISE)


def _clamp(weight: float, ceiling: float = WEIGHT_RANGE[1]) -> float:
    return min(max(weight, WEIGHT_RANGE[0]), ceiling)
