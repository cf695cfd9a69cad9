"""NaVILA's mid-level action language: free text ↔ typed actions.

The VLA answers in text such as "The next action is turn left 45 degrees."; :func:`parse_action` turns any answer into
a :class:`Forward`, :class:`Turn` or :class:`Stop` snapped to the vocabulary, or an :class:`Invalid` result (never an
exception). A signed distance or angle that is zero or negative is invalid, never replaced by a default.
:class:`ActionDecoder` applies an :class:`InvalidPolicy` per env to the invalid answers.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

logger = logging.getLogger(__name__)

FORWARD_CM: tuple[int, ...] = (25, 50, 75)
"""Forward distances of the vocabulary (cm)."""
TURN_DEG: tuple[int, ...] = (15, 30, 45)
"""Turn angles of the vocabulary (degrees)."""


@dataclass(frozen=True)
class Forward:
    """Walk straight ahead."""

    cm: int = FORWARD_CM[0]
    """Distance (cm), one of :data:`FORWARD_CM`."""

    def __post_init__(self) -> None:
        if self.cm not in FORWARD_CM:
            raise ValueError(f"forward distance {self.cm} cm is not one of {FORWARD_CM}")

    @property
    def meters(self) -> float:
        """Distance (m)."""
        return self.cm / 100.0


@dataclass(frozen=True)
class Turn:
    """Turn in place."""

    degrees: int = TURN_DEG[0]
    """Signed angle (degrees): positive turns left (counter-clockwise seen from above), negative turns right."""

    def __post_init__(self) -> None:
        if abs(self.degrees) not in TURN_DEG:
            raise ValueError(f"turn angle {self.degrees} degrees is not ±{TURN_DEG}")

    @property
    def direction(self) -> str:
        """``"left"`` or ``"right"``."""
        return "left" if self.degrees > 0 else "right"

    @property
    def radians(self) -> float:
        """Signed angle (rad)."""
        return math.radians(self.degrees)


@dataclass(frozen=True)
class Stop:
    """End the episode: the agent believes it has arrived."""


@dataclass(frozen=True)
class Invalid:
    """A VLA answer that names no action."""

    text: str
    """The answer as received."""
    reason: str = field(default="names no action", compare=False)
    """Why it cannot be executed."""


Action = Forward | Turn | Stop
"""An executable mid-level action."""
ParseResult = Action | Invalid
"""What parsing an answer yields."""

_UNIT_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen"
).split()
_TENS_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_WORD_VALUES = {word: value for value, word in enumerate(_UNIT_WORDS)} | {
    word: 10 * value for value, word in enumerate(_TENS_WORDS, start=2)
}
_NUMBER_WORD = "|".join(sorted(_NUMBER_WORD_VALUES, key=len, reverse=True))
_NUMBER_WORDS_RUN = re.compile(rf"\b(?:{_NUMBER_WORD}|hundred)(?:[\s-]+(?:{_NUMBER_WORD}|hundred))*\b")

_NUMBER = r"(-?\s?\d+(?:\.\d+)?)"
_FILLER = r"(?:\s+(?:by|for|about|around|approximately))?"
_FORWARD = re.compile(rf"\bforwards?\b{_FILLER}(?:\s*{_NUMBER}\s*(cm|centimet(?:er|re)s?|m|met(?:er|re)s?)?\b)?")
_TURN_DIRECTION_FIRST = re.compile(
    rf"\b(?:turn|rotate)\w*\s+(?:to\s+(?:the\s+|your\s+)?)?(left|right)\b{_FILLER}(?:\s*{_NUMBER}\s*(?:deg(?:ree)?s?)?\b)?"
)
_TURN_ANGLE_FIRST = re.compile(
    rf"\b(?:turn|rotate)\w*{_FILLER}\s*{_NUMBER}\s*(?:deg(?:ree)?s?)?\s+(?:to\s+(?:the\s+|your\s+)?)?(left|right)\b"
)
_STOP = re.compile(r"\bstop\b")


def snap(value: float, choices: Sequence[int]) -> int:
    """Return the choice nearest to ``value`` (the smaller one on a tie)."""
    return min(choices, key=lambda choice: (abs(choice - value), choice))


def _words_to_number(run: str) -> int:
    """Return the value of a run of English number words ("seventy five" → 75, "one hundred five" → 105)."""
    total = 0
    for word in re.split(r"[\s-]+", run):
        if word == "hundred":
            total = max(total, 1) * 100
        else:
            total += _NUMBER_WORD_VALUES[word]
    return total


def normalize(text: str) -> str:
    """Lower case, number words as digits, "°" as " degrees", minus signs and words as "-", whitespace collapsed."""
    text = text.lower().replace("°", " degrees ").replace("\u2212", "-")
    text = re.sub(r"\b(?:minus|negative)\s+", "-", text)
    text = _NUMBER_WORDS_RUN.sub(lambda match: str(_words_to_number(match.group(0))), text)
    return re.sub(r"\s+", " ", text).strip()


def _magnitude(number: str) -> float:
    """Value of a matched number, sign included ("- 50" → −50)."""
    return float(number.replace(" ", ""))


def _forward(match: re.Match, text: str) -> Forward | Invalid:
    number, unit = match.group(1), match.group(2)
    if number is None:
        return Forward()
    centimeters = _magnitude(number) * (100.0 if unit and unit.startswith("m") else 1.0)
    if centimeters <= 0:
        return Invalid(text, f"forward distance {number.replace(' ', '')} is not positive")
    return Forward(snap(centimeters, FORWARD_CM))


def _turn(direction: str, number: str | None, text: str) -> Turn | Invalid:
    if number is not None and _magnitude(number) <= 0:
        return Invalid(text, f"turn angle {number.replace(' ', '')} is not positive")
    degrees = TURN_DEG[0] if number is None else snap(_magnitude(number), TURN_DEG)
    return Turn(degrees if direction == "left" else -degrees)


def parse_action(text: str) -> ParseResult:
    """Parse a VLA answer into the first action it names.

    Robust to case, punctuation, surrounding sentences, number words ("seventy five"), "degree"/"degrees"/"°" and
    distances in meters. Values snap to the nearest of :data:`FORWARD_CM` / :data:`TURN_DEG`; an action without a
    number gets the smallest value (25 cm / 15 degrees); a zero or negative number makes the answer invalid (the
    direction of a turn is its word, never a sign).

    Args:
        text: The answer, e.g. ``"The next action is turn left 45 degrees."``.

    Returns:
        The action named first in the text, or :class:`Invalid` when it names none or its value is not positive.
    """
    normalized = normalize(text)
    candidates: list[tuple[int, ParseResult]] = []
    if match := _FORWARD.search(normalized):
        candidates.append((match.start(), _forward(match, text)))
    if match := _TURN_DIRECTION_FIRST.search(normalized):
        candidates.append((match.start(), _turn(match.group(1), match.group(2), text)))
    if match := _TURN_ANGLE_FIRST.search(normalized):
        candidates.append((match.start(), _turn(match.group(2), match.group(1), text)))
    if match := _STOP.search(normalized):
        candidates.append((match.start(), Stop()))
    if not candidates:
        return Invalid(text)
    return min(candidates, key=lambda candidate: candidate[0])[1]


def format_action(action: Action) -> str:
    """Canonical text of an action, as in NaVILA's training labels (e.g. ``"turn left 45 degrees"``)."""
    match action:
        case Forward(cm=cm):
            return f"move forward {cm} cm"
        case Turn():
            return f"turn {action.direction} {abs(action.degrees)} degrees"
        case Stop():
            return "stop"
    raise TypeError(f"not an action: {action!r}")


def action_kind(answer: str) -> str | None:
    """``forward``, ``left``, ``right`` or ``stop``: the kind of action an answer parses to; None for none."""
    action = parse_action(answer)
    if isinstance(action, Turn):
        return action.direction
    return {Forward: "forward", Stop: "stop"}.get(type(action))


def premature_stops(answers: Sequence[str], expert: Sequence[str]) -> list[bool]:
    """Per query, whether ``answers`` stops where the ``expert``'s answer does not."""
    return [action_kind(a) == "stop" and action_kind(e) != "stop" for a, e in zip(answers, expert, strict=True)]


def summarize_actions(answers: Sequence[str]) -> str:
    """Executed answers as one phrase, each run of walks or of turns to one side merged.

    E.g. ``"move forward 150 cm, turn left 90 degrees"``; answers that name no move or turn are left out
    (``"nothing"`` when none is left).
    """
    runs: list[list] = []  # [kind, total]: kind "forward" (cm) or a turn side (degrees)
    for answer in answers:
        action = parse_action(answer)
        if isinstance(action, Forward):
            kind, amount = "forward", action.cm
        elif isinstance(action, Turn):
            kind, amount = action.direction, abs(action.degrees)
        else:
            continue
        if runs and runs[-1][0] == kind:
            runs[-1][1] += amount
        else:
            runs.append([kind, amount])
    phrases = [
        f"move forward {total} cm" if kind == "forward" else f"turn {kind} {total} degrees" for kind, total in runs
    ]
    return ", ".join(phrases) or "nothing"


def canonical_answers() -> list[str]:
    """Every action of the vocabulary in canonical text: the closed answer set of a VLA trained on such labels."""
    actions = [Forward(cm) for cm in FORWARD_CM] + [Turn(sign * deg) for deg in TURN_DEG for sign in (1, -1)]
    return [format_action(action) for action in [*actions, Stop()]]


DISCRETE_TOKENS: dict[str, Action] = {"A": Forward(25), "B": Turn(15), "C": Turn(-15), "D": Stop()}
"""Discrete-token interface of StreamVLN / VLN-R1 / Nav-R1: A forward 25 cm, B left 15°, C right 15°, D stop."""
_TOKEN_WORDS = {"FORWARD": "A", "LEFT": "B", "RIGHT": "C", "STOP": "D"}


def parse_token(token: str) -> ParseResult:
    """Map a discrete token (``A``–``D``, or ``forward``/``left``/``right``/``stop``) onto an action."""
    key = token.strip().strip(".:)").upper()
    key = _TOKEN_WORDS.get(key, key)
    return DISCRETE_TOKENS.get(key, Invalid(token))


class InvalidPolicy(StrEnum):
    """What an env does when its VLA answer is :class:`Invalid`."""

    REQUERY = "requery"
    """Stand still and ask again; stop after ``max_requeries`` invalid answers in a row."""
    STOP = "stop"
    """End the episode at once."""
    REPEAT_LAST = "repeat_last"
    """Repeat the env's previous valid action (stop when there is none)."""


class ActionDecoder:
    """Turns the answers of N envs into actions, applying an :class:`InvalidPolicy` to invalid answers.

    :meth:`decode` returns, per env, an :data:`Action` or ``None``; ``None`` means "hold still and query again".
    """

    def __init__(
        self, num_envs: int, policy: InvalidPolicy | str = InvalidPolicy.REQUERY, max_requeries: int = 3
    ) -> None:
        """Create the decoder.

        Args:
            num_envs: Number of envs.
            policy: Handling of invalid answers.
            max_requeries: With :attr:`InvalidPolicy.REQUERY`, invalid answers in a row after which the env stops.
        """
        self.policy = InvalidPolicy(policy)
        self.max_requeries = max_requeries
        self._invalid_streak = [0] * num_envs
        self._last_action: list[Action | None] = [None] * num_envs

    def reset(self, env_ids: Sequence[int]) -> None:
        """Forget the history of these envs (call at episode start)."""
        for env_id in env_ids:
            self._invalid_streak[env_id] = 0
            self._last_action[env_id] = None

    def decode(self, texts: Sequence[str], env_ids: Sequence[int]) -> list[Action | None]:
        """Parse one answer per env.

        Args:
            texts: VLA answers.
            env_ids: The env each answer belongs to.

        Returns:
            Per answer: the action to execute, or ``None`` to hold still and query again.
        """
        return [self._decode_one(text, env_id) for text, env_id in zip(texts, env_ids, strict=True)]

    def _decode_one(self, text: str, env_id: int) -> Action | None:
        result = parse_action(text)
        if not isinstance(result, Invalid):
            self._invalid_streak[env_id] = 0
            self._last_action[env_id] = result
            return result
        self._invalid_streak[env_id] += 1
        action = self._resolve_invalid(env_id)
        logger.warning("env %d: invalid VLA answer %r (%s) → %s", env_id, text, result.reason, action or "re-query")
        return action

    def _resolve_invalid(self, env_id: int) -> Action | None:
        match self.policy:
            case InvalidPolicy.STOP:
                return Stop()
            case InvalidPolicy.REPEAT_LAST:
                return self._last_action[env_id] or Stop()
            case InvalidPolicy.REQUERY:
                return Stop() if self._invalid_streak[env_id] > self.max_requeries else None
