"""The API gateway: auth, mail and the logger over HTTP, JSON-RPC, gRPC and RabbitMQ."""
