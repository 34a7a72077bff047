"""Online evaluators: cheap checks scoring a sampled share of live traffic, off the request path."""
