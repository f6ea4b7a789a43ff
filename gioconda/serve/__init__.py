"""The web app (``gioconda serve``): the page, the live stream and file jobs."""
