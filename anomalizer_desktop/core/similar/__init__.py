"""More like this: the standardised embedding space (:mod:`.space`) and, for libraries too big
for exact search, an approximate nearest-neighbour index kept next to the catalog (:mod:`.ann`)."""
