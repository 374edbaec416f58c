"""Float models, their checkpoints, and the training loop."""
