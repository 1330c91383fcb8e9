"""What keeps the bot running: the clock, the sweeper, background work, durations, metrics."""
