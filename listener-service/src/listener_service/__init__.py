"""listener-service: log events from RabbitMQ to the logger, at least once, nothing lost."""
