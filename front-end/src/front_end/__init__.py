"""The test page: one button per path through the broker, the answers, and a log view."""
