"""Security controls (Rego shipped as package data), frameworks, scoring, exceptions."""
