"""Step 4, security review: what triggers one, who decides it, and how the team is asked."""
