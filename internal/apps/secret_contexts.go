package apps

import "github.com/google/uuid"

// The secretbox contexts of the apps' encrypted columns, for the key
// rotation (internal/rekey), which re-seals each value under its own row.

// WebhookSecretContext binds apps.webhook_secret_enc to its app.
func WebhookSecretContext(appID uuid.UUID) string { return webhookSecretContext(appID) }

// InstallSecretContext binds installs.secret_enc to its install.
func InstallSecretContext(id uuid.UUID) string { return installSecretContext(id) }

// AgentContextContext binds installs.agent_context_enc to its install.
func AgentContextContext(id uuid.UUID) string { return agentContextContext(id) }
