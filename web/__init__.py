"""The HTTP toolkit beneath the API and the pages: request dependencies, sign-in, responses."""
