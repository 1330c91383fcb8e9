"""The change itself: its states, facts and gates, the one transition, and its card."""
