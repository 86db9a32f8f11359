"""MediVault EU stacks: thin stacks that compose the constructs in ``constructs/``."""
