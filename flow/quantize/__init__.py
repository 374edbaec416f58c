"""From float to integer: BatchNorm folding, fixed-point type assignment, QAT."""
