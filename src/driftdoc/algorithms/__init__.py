"""Root-cause algorithms: covering-array design, Shortcut, Stacked Shortcut, DDT, minimisation."""
