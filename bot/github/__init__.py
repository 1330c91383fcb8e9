"""GitHub: pull requests, CI, reviews, deployments and webhooks, through PyGithub."""
