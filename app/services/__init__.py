"""The service layer between the routers and the engine: networks, datasets, runs, inspection."""
