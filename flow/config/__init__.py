"""Configuration: the model zoo, quantization and build settings, FPGA targets."""
