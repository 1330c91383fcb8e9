"""Step 3, peer review: who approves, how many, and the reminders that keep reviews moving."""
