"""Fixtures of the agents tests: a tiny random LLaVA (CLIP vision tower + Llama text model) with a word-level tokenizer,
built offline, an untrained small VLA of ``navila vla-train``, and VLA servers on localhost."""

import threading

import pytest
from navila_agents.vla.backends.server import make_server
from navila_agents.vla.frames import build_prompt
from navila_agents.vla.grammar import FORWARD_CM, TURN_DEG

CHAT_TEMPLATE = (
    "{% for message in messages %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}<image>{% else %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endfor %}{% if add_generation_prompt %} the next action is{% endif %}"
)


def build_tiny_vla(path):
    """Save a tiny LLaVA and its processor (chat template included) to ``path``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    words = build_prompt("walk past the red sofa and stop by the plant").replace("<image>", " ").split()
    words += "the next action is move forward turn left right degrees cm stop".split()
    words += [str(value) for value in FORWARD_CM + TURN_DEG]
    specials = ["<pad>", "<s>", "</s>", "<unk>", "<image>"]
    vocab = {word: index for index, word in enumerate(specials + sorted(set(words) - set(specials)))}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.decoder = decoders.WordPiece()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        extra_special_tokens={"image_token": "<image>"},
    )
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=fast,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )
    vision = CLIPVisionConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8
    )
    text = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=vocab["<image>"],
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    LlavaForConditionalGeneration(config).save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_vla_path(tmp_path_factory):
    """Folder of a tiny random LLaVA usable with ``local_files_only=True``."""
    return build_tiny_vla(tmp_path_factory.mktemp("tiny_vla"))


@pytest.fixture(scope="session")
def small_vla_path(tmp_path_factory):
    """Folder of an untrained ``navila vla-train`` small VLA (ranks the grammar's answers) of the tiny test size."""
    from vla_training_support import write_untrained_small_vla

    return write_untrained_small_vla(tmp_path_factory.mktemp("small_vla"))


@pytest.fixture
def serve():
    """Start VLA servers for backends on 127.0.0.1 in threads (``serve(backend) -> url``); shut them down after."""
    servers = []

    def start(backend):
        server = make_server(backend, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
