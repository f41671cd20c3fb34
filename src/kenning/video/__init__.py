"""Video: actions (MoViNet, optional) and the pieces that turn keyframes into results."""
