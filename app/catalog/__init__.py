"""What the service sells: the engine's models with a price and a queue each, and the content presets."""
