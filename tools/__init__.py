"""Developer tools: synth summary, synth benchmark, compliance report."""
