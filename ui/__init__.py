"""Everything with a user interface: the Qt GUI and the headless ``dcplan`` CLI."""
