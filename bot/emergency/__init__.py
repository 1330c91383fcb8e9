"""Emergency changes: the broadcast, deploy at once, approval and retrospective after."""
