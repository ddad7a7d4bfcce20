"""The Slack adapter: counselors' desk channels (cards, threads, buttons) and people who write
to the bot by direct message. Only this package imports slack_bolt and slack_sdk."""
