"""Test audio: a tiny MIDI writer + fluidsynth renderer, drum-kit sampler, loop specs and
mastering, and defect planting. Generated audio goes to temporary/ignored dirs only."""
