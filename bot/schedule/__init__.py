"""When changes may ship: freeze windows, the change calendar and conflicts between planned
changes. Its own package rather than bot/deployment: it reads every change's planned time
(the proposal), gates the deploy (Step 6) and feeds the evidence pack, across steps."""
