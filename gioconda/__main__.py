from gioconda.cli import run

run()
