package purchases

import "github.com/google/uuid"

// ClientSecretContext binds credit_purchases.client_secret_enc (the
// PaymentIntent's client secret) to its purchase.
func ClientSecretContext(purchaseID uuid.UUID) string { return "purchase:" + purchaseID.String() }
