"""Files users attach to their messages: what is accepted, where the bytes go, how they are
checked on the way in and what the model is sent."""
