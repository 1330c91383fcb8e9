"""Steps 5-8: staging, production deployment, post-deployment verification and rollback."""
