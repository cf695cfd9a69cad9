import numpy as np
import pytest
from navila_agents.vla.frames import FrameHistory, build_prompt, sample_frame_indices, with_action_history

REFERENCE_PROMPT = (
    "Imagine you are a robot programmed for navigation tasks. You have been given a video of historical observations "
    + "<image>\n" * 7
    + ', and current observation <image>\n. Your assigned task is: "walk to the red sofa" Analyze this series of '
    "images to decide your next action, which could be turning left or right by a specific degree, moving forward a "
    "certain distance, or stop if the task is completed."
)


class TestSampleFrameIndices:
    def test_pads_short_histories_in_front(self):
        """With fewer than 8 frames, black frames (None) come first, then every frame in order."""
        assert sample_frame_indices(1) == [None] * 7 + [0]
        assert sample_frame_indices(4) == [None] * 4 + [0, 1, 2, 3]
        assert sample_frame_indices(8) == list(range(8))

    @pytest.mark.parametrize("num_observed", [9, 10, 37, 500])
    def test_long_histories(self, num_observed):
        """Eight increasing indices: the first frame, 6 spread over the history, and the current frame last."""
        indices = sample_frame_indices(num_observed)
        assert len(indices) == 8 and indices[0] == 0 and indices[-1] == num_observed - 1
        assert indices == sorted(set(indices))
        gaps = np.diff(indices[:-1])
        assert gaps.max() - gaps.min() <= 1  # uniform over the history

    def test_needs_the_current_frame(self):
        """Sampling before any frame is recorded is an error."""
        with pytest.raises(ValueError):
            sample_frame_indices(0)


class TestFrameHistory:
    def test_samples_each_env_separately(self):
        """Each env samples from its own frames; black padding has the frame's shape; reset empties one env."""
        history = FrameHistory(2)
        for value in range(1, 11):
            history.append(np.full((2, 4, 4, 3), value, dtype=np.uint8), [0, 1])
        history.append(np.full((1, 4, 4, 3), 99, dtype=np.uint8), [1])
        history.reset([0])
        history.append(np.full((1, 4, 4, 3), 7, dtype=np.uint8), [0])
        env0, env1 = history.sample(0), history.sample(1)
        assert env0.shape == (8, 4, 4, 3) and env0.dtype == np.uint8
        assert env0[:7].max() == 0 and (env0[7] == 7).all()
        assert env1[0, 0, 0, 0] == 1 and env1[-1, 0, 0, 0] == 99
        assert history.num_observed(0) == 1 and history.num_observed(1) == 11

    def test_empty_env_cannot_be_sampled(self):
        """An env without frames raises a clear error."""
        with pytest.raises(ValueError, match="no frame"):
            FrameHistory(1).sample(0)


class TestBuildPrompt:
    def test_reference_wording(self):
        """The prompt is NaVILA's reference text with 7 history image tokens and 1 current."""
        assert build_prompt("walk to the red sofa") == REFERENCE_PROMPT

    def test_image_token_count_follows_frames(self):
        """The number of image tokens equals the number of frames."""
        assert build_prompt("x", num_frames=4, image_token="<img>").count("<img>") == 4


def test_action_history_follows_the_instruction():
    """The history phrase comes after the instruction, in the prompt's instruction slot."""
    text = with_action_history("Walk to the sofa.", ["turn left 45 degrees", "turn left 45 degrees"])
    assert text == "Walk to the sofa. Done so far: turn left 90 degrees."
    assert text in build_prompt(text)
