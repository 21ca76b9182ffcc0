"""Timing scripts: each compares contenders in one run and prints medians and ratios."""
