"""The web desk at /desk: counselors of partners without Slack sign in, see their partner's queue,
accept, chat, note, close, transfer and release. A front end of bot/desk, like bot/slack."""
