"""The running service: app factory, channel adapters, dispatcher and sender."""


class BotError(Exception):
    """Root of the expected failures of the running service (bad settings, missing files)."""


class SettingsError(BotError):
    """A setting has a value the service cannot use; the message names the setting."""
