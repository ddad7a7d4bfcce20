"""The work side: what turns stored events into replies. The dispatcher (a person's events in
order, the engine or the desk), the outbox pump and its senders' interface, the repeating passes."""
