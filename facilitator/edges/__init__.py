"""Where requests come in: the Socket.IO handlers, the HTTP blueprints, and who the
caller is. Thin: identify, hand to the pipeline or a domain reader, answer."""
