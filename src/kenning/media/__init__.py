"""Reading the user's media: sniffing the type from content, decoding for the models."""
