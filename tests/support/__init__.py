"""What only the reliability suites need: the private PostgreSQL cluster of the fault tests."""
