"""Music: log-mel features, the speech/silence gate and genre tags for audio tracks."""
