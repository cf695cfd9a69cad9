"""``navila vla-serve``: serve a local Hugging Face VLA over HTTP for ``ServerBackend`` clients."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from navila_lab.errors import UserError


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="navila vla-serve", description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="local folder of a transformers VLA and processor")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind; 0 picks a free one")
    parser.add_argument("--device", default="cpu", help="torch device of the model")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="longest answer generated")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Load the model, then answer queries until interrupted."""
    args = parse_args(argv)
    if not (args.model / "config.json").is_file():
        raise UserError(f"no transformers model in {args.model} (config.json missing)")
    from navila_agents.vla.backends.hf import HFBackend
    from navila_agents.vla.backends.server import make_server

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    backend = HFBackend(args.model, device=args.device, max_new_tokens=args.max_new_tokens)
    try:
        server = make_server(backend, args.host, args.port)
    except OSError as error:
        raise UserError(f"cannot bind {args.host}:{args.port}: {error.strerror}") from error
    print(f"serving {args.model} on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
