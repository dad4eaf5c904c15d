"""DVC experiments: access, sweep, journal, plots and the offline plots template."""
