// Package deploy holds deployment checks: tests that load the repository's
// deployment files (docker-compose.yml) the way their tools do and check them
// against the design, so a broken file fails `make test` rather than a user's
// first `docker compose up`. It has no code of its own and imports nothing the
// application uses.
package deploy
