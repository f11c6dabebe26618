"""The GraphQL API portal frontends use."""
