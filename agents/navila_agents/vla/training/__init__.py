"""Training a VLA for the command layer: dataset, tokenizer, small model, SFT trainer, expert labelling, DAgger."""
