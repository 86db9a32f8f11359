"""``make mutate``: plant one security-relevant bug at a time in a copy of the tree and report which survive."""
