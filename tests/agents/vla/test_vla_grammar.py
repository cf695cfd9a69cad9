import pytest
from navila_agents.vla.grammar import (
    FORWARD_CM,
    TURN_DEG,
    ActionDecoder,
    Forward,
    Invalid,
    InvalidPolicy,
    Stop,
    Turn,
    format_action,
    normalize,
    parse_action,
    parse_token,
    snap,
    summarize_actions,
)

VOCABULARY = [Forward(cm) for cm in FORWARD_CM] + [Turn(sign * deg) for deg in TURN_DEG for sign in (1, -1)] + [Stop()]


class TestParseAction:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("The next action is turn left 45 degrees.", Turn(45)),
            ("The next action is move forward 75 cm.", Forward(75)),
            ("TURN RIGHT 30 DEGREE", Turn(-30)),
            ("turn right 15°", Turn(-15)),
            ("Move forward seventy five centimeters!", Forward(75)),
            ("move forward fifty cm", Forward(50)),
            ("turn left forty-five degrees", Turn(45)),
            ("move forward 0.5 m", Forward(50)),
            ("turn 30 degrees to the right", Turn(-30)),
            ("I see the sofa. The task is completed, so I stop.", Stop()),
            ("Stop.", Stop()),
        ],
    )
    def test_reads_free_text(self, text, expected):
        """Case, punctuation, number words, units and surrounding sentences do not change the parsed action."""
        assert parse_action(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("move forward 60 cm", Forward(50)),
            ("move forward 300 cm", Forward(75)),
            ("turn left 20 degrees", Turn(15)),
            ("turn right 40 degrees", Turn(-45)),
            ("turn left 90 degrees", Turn(45)),
        ],
    )
    def test_snaps_to_the_vocabulary(self, text, expected):
        """Values off the vocabulary snap to the nearest allowed distance or angle."""
        assert parse_action(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"), [("move forward", Forward(25)), ("Turn left.", Turn(15)), ("turn right", Turn(-15))]
    )
    def test_defaults_without_number(self, text, expected):
        """An action without a number gets 25 cm / 15 degrees."""
        assert parse_action(text) == expected

    def test_first_action_wins(self):
        """When a text names several actions, the first one named is taken."""
        assert parse_action("turn right 30 degrees, then move forward 75 cm and stop") == Turn(-30)
        assert parse_action("move forward 50 cm, then turn left") == Forward(50)

    @pytest.mark.parametrize("text", ["", "I am not sure.", "left", "forwarding address", "12345"])
    def test_unparseable_is_invalid_not_an_exception(self, text):
        """Text naming no action yields Invalid carrying the original text."""
        assert parse_action(text) == Invalid(text)

    @pytest.mark.parametrize(
        "text",
        [
            "move forward -50 cm",
            "move forward - 50 cm",
            "move forward \u221275 cm",
            "move forward minus fifty centimeters",
            "move forward 0 cm",
            "move forward -0.5 m",
            "turn left -45 degrees",
            "turn right 0 degrees",
            "turn -30 degrees to the left",
            "The next action is turn left negative fifteen degrees.",
        ],
    )
    def test_non_positive_values_are_invalid(self, text):
        """A zero or negative distance or angle is Invalid (with the reason), never a default or a flipped action."""
        result = parse_action(text)
        assert result == Invalid(text) and "not positive" in result.reason

    @pytest.mark.parametrize("action", VOCABULARY)
    def test_format_round_trips(self, action):
        """Parsing the canonical text of any vocabulary action gives the action back."""
        assert parse_action(format_action(action)) == action

    def test_canonical_text(self):
        """Canonical text matches NaVILA's training labels."""
        assert [format_action(a) for a in (Forward(50), Turn(-45), Stop())] == [
            "move forward 50 cm",
            "turn right 45 degrees",
            "stop",
        ]


class TestVocabularyTypes:
    def test_off_vocabulary_actions_are_rejected(self):
        """Actions cannot be built with distances or angles outside the vocabulary."""
        with pytest.raises(ValueError):
            Forward(30)
        with pytest.raises(ValueError):
            Turn(20)

    def test_snap_ties_go_to_the_smaller_value(self):
        """A value halfway between two choices snaps to the smaller one."""
        assert snap(37.5, FORWARD_CM) == 25

    def test_normalize_number_words(self):
        """Number words become digits, hyphenated or not, with 'hundred'."""
        assert normalize("Seventy-Five and one hundred five") == "75 and 105"


class TestParseToken:
    @pytest.mark.parametrize(
        ("token", "expected"),
        [("A", Forward(25)), ("b", Turn(15)), ("C.", Turn(-15)), ("D", Stop()), ("stop", Stop()), ("LEFT", Turn(15))],
    )
    def test_maps_tokens(self, token, expected):
        """Discrete tokens A–D and their word forms map onto forward 25 cm, left/right 15 degrees and stop."""
        assert parse_token(token) == expected

    def test_unknown_token_is_invalid(self):
        """An unknown token yields Invalid."""
        assert parse_token("E") == Invalid("E")


class TestActionDecoder:
    def test_valid_answers_pass_through(self):
        """Valid answers are decoded per env regardless of policy."""
        decoder = ActionDecoder(2, InvalidPolicy.STOP)
        assert decoder.decode(["move forward 50 cm", "turn left 30 degrees"], [0, 1]) == [Forward(50), Turn(30)]

    def test_requery_holds_then_stops(self):
        """REQUERY holds (None) for max_requeries invalid answers in a row, then stops; a valid answer resets it."""
        decoder = ActionDecoder(1, InvalidPolicy.REQUERY, max_requeries=2)
        assert [decoder.decode(["??"], [0])[0] for _ in range(3)] == [None, None, Stop()]
        decoder.reset([0])
        assert decoder.decode(["??"], [0]) == [None]
        decoder.decode(["move forward"], [0])
        assert decoder.decode(["??"], [0]) == [None]

    def test_negative_value_requeries_then_stops(self):
        """A negative distance is handled like any invalid answer: hold and re-query, then stop."""
        decoder = ActionDecoder(1, InvalidPolicy.REQUERY, max_requeries=1)
        assert [decoder.decode(["move forward -50 cm"], [0])[0] for _ in range(2)] == [None, Stop()]

    def test_stop_policy(self):
        """STOP ends the episode on the first invalid answer."""
        assert ActionDecoder(1, "stop").decode(["??"], [0]) == [Stop()]

    def test_repeat_last_policy(self):
        """REPEAT_LAST repeats the env's own previous action, or stops when there is none."""
        decoder = ActionDecoder(2, InvalidPolicy.REPEAT_LAST)
        decoder.decode(["turn right 45 degrees"], [1])
        assert decoder.decode(["??", "??"], [0, 1]) == [Stop(), Turn(-45)]

    def test_default_policy_is_requery(self):
        """By default an invalid answer makes the env hold and query again."""
        assert ActionDecoder(1).decode(["gibberish"], [0]) == [None]


def test_summarize_actions_merges_runs_and_skips_what_is_no_move():
    """Consecutive walks add up, as do turns to one side; a turn to the other side starts a new run; stops and
    unreadable answers are left out; no move at all reads "nothing"."""
    answers = [
        "move forward 75 cm",
        "Move forward 50 cm.",
        "turn left 45 degrees",
        "stop",
        "turn left 30 degrees",
        "turn right 15 degrees",
        "I am not sure",
        "move forward 25 cm",
    ]
    assert summarize_actions(answers) == (
        "move forward 125 cm, turn left 75 degrees, turn right 15 degrees, move forward 25 cm"
    )
    assert summarize_actions([]) == summarize_actions(["stop"]) == "nothing"
