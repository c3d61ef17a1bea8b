"""The authentication service: logs users in against PostgreSQL with Go-compatible bcrypt."""
