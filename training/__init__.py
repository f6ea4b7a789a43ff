"""Training of Gioconda's own audio-to-viseme network: synthetic data, splits, trainer.

``make_data.py`` writes the data set; ``splits.py`` fixes which languages, speakers and
sentences belong to which split, so that evaluation can hold out the same ones.
"""
