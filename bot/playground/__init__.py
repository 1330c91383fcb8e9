"""The playground: the bot with a Slack stand-in in a browser page, for trying it out."""
