"""The operations of mlv. They raise MlvError, report progress through callbacks, never print."""
