-- docker-compose.yml: one PostgreSQL server, a database per service (run once, on a new volume).
CREATE DATABASE media_handler_auth;
CREATE DATABASE media_handler_media;
