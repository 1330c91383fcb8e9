"""Step 1, change proposal: the form, what it must contain, and its validation."""
