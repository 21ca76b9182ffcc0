"""Studies of what the classifier learns and how it holds up; results beside each script."""
