-- Unleash keeps its state in a database of its own on the same server.
CREATE DATABASE unleash;
