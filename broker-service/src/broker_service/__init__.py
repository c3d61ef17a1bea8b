"""The API gateway: auth, mail and the logger over HTTP, Go's net/rpc, gRPC and RabbitMQ."""
